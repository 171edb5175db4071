"""The Alembic migrations build the same schema as the models, on both engines."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from triage_api.models import Base

pytestmark = pytest.mark.integration


def _upgrade(url: str, data_dir: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOTLINE_")}
    env |= {"HOTLINE_DATA_DIR": str(data_dir), "HOTLINE_DATABASE_URL": url}
    subprocess.run(
        [sys.executable, "-m", "triage_api.cli", "db", "upgrade"],
        env=env,
        check=True,
        capture_output=True,
        timeout=120,
    )


@pytest.mark.parametrize("engine_name", ["sqlite", "postgres"])
def test_migrations_match_the_models(
    engine_name: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    if engine_name == "postgres":
        url = request.getfixturevalue("pg_database")
    else:
        url = f"sqlite:///{tmp_path / 'm.sqlite'}"
    _upgrade(url, tmp_path)
    _upgrade(url, tmp_path)  # a second upgrade is a no-op
    engine = sa.create_engine(url)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": False})
        differences = compare_metadata(context, Base.metadata)
    engine.dispose()
    assert differences == []
