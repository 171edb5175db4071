"""`hotline demo --once`, the command behind `make demo`, builds a ranked queue and cleans up."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.stack import free_port

pytestmark = pytest.mark.integration


def test_demo_builds_the_queue_from_real_captures(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOTLINE_")}
    env["HOTLINE_DATA_DIR"] = str(tmp_path / "var")
    result = subprocess.run(
        [sys.executable, "-m", "triage_api.cli", "demo", "--once", "--port", str(free_port())],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=400,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    lines = result.stdout.splitlines()
    first = next(line for line in lines if line.strip().startswith("1."))
    assert "[confirmed-likely]" in first and "ortaq-forum.kz" in first
    sign_in = next(line for line in lines if line.startswith("Sign in as 'demo-analyst'"))
    assert "with the password " in sign_in and "(or the API token hlt_" in sign_in
    assert any("/status/" in line and "?lang=en" in line for line in lines)
    swept = next(line for line in lines if line.startswith("A proactive sweep"))
    assert "/ui/sweeps/1" in swept and " 0 pages" not in swept
    assert _processes_in(tmp_path) == []


def _processes_in(folder: Path) -> list[int]:
    """Processes whose working directory is `folder`: the demo's worker and server would be."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if Path(os.readlink(entry / "cwd")) == folder:
                    found.append(int(entry.name))
            except OSError:
                continue
    return found
