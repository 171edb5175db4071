"""The `hotline` command line as the sweep tests run it, and a sweep started by `hotline sweep
start` in the background, slowly (one page a second a host), and stopped by `hotline sweep stop`
once it has read a few pages."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import sqlalchemy as sa

from tests.stack import wait_until
from triage_api import db
from triage_api.models import Sweep

SLOW = ["--delay", "1", "--per-host-concurrency", "1", "--max-pages", "400", "--max-depth", "3"]


def hotline(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "triage_api.cli", *args],
        capture_output=True,
        text=True,
        timeout=600,
        env=dict(os.environ),
    )


def stopped_midway(*start_args: str) -> int:
    """The sweep's id, once every process of `hotline sweep start --from-cases` has left after
    `hotline sweep stop` (which must answer `stopping`)."""
    command = [sys.executable, "-m", "triage_api.cli", "sweep", "start", "--from-cases"]
    started = subprocess.Popen(
        [*command, *SLOW, *start_args],
        env=dict(os.environ),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:

        def working() -> int | None:
            with db.session_scope() as session:
                found = session.scalar(sa.select(Sweep.id).where(Sweep.pages >= 5))
            return found

        wait_until(working, 120, "the sweep to fetch its first pages")
        sweep_id = working()
        assert sweep_id is not None
        asked = hotline("sweep", "stop", str(sweep_id))
        assert asked.returncode == 0, asked.stderr
        assert json.loads(asked.stdout) == {"id": sweep_id, "status": "stopping"}
        started.communicate(timeout=180)  # every process leaves once its pages in flight end
    finally:
        if started.poll() is None:
            started.kill()
            started.wait()
    return sweep_id
