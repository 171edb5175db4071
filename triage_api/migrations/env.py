"""Alembic environment: the URL comes from Settings; SQLite runs in batch mode."""

from __future__ import annotations

from alembic import context

from triage_api.db import engine_for
from triage_api.models import Base

config = context.config
url = config.get_main_option("sqlalchemy.url") or ""
engine = engine_for(url)

with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=url.startswith("sqlite"),
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
