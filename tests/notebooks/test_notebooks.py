"""Every notebook in notebooks/ runs top to bottom without an error, in this venv's Python.

The kernel is pinned to `sys.executable` through a private kernel spec (JUPYTER_PATH takes
precedence over user and system specs), so a `python3` kernel installed elsewhere on the machine
cannot run the notebooks with other packages. `HASH_STUDY_QUICK=1` shrinks the hash study's image
set and `TEXT_CLASSIFIER_QUICK=1` the text classifier's corpus; the notebooks stay unmodified on
disk (outputs are never written back).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
CELL_TIMEOUT_S = 300


@pytest.fixture
def venv_kernel(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A kernel spec named `python3` that starts this interpreter, found before any other."""
    spec = tmp_path / "jupyter" / "kernels" / "python3"
    spec.mkdir(parents=True)
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    kernel = {"argv": argv, "display_name": "Python 3 (test venv)", "language": "python"}
    (spec / "kernel.json").write_text(json.dumps(kernel))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path / "runtime"))
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))  # no user profile or startup files
    monkeypatch.setenv("HASH_STUDY_QUICK", "1")
    monkeypatch.setenv("TEXT_CLASSIFIER_QUICK", "1")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    return "python3"


@pytest.mark.parametrize("path", sorted(NOTEBOOKS.glob("*.ipynb")), ids=lambda p: p.name)
def test_notebook_runs(path: Path, venv_kernel: str) -> None:
    nb = nbformat.read(path, as_version=4)
    probe = nbformat.v4.new_code_cell("import sys\nprint(sys.executable, sys.prefix, sep='\\n')")
    nb.cells.insert(0, probe)
    client = NotebookClient(
        nb,
        kernel_name=venv_kernel,
        timeout=CELL_TIMEOUT_S,
        resources={"metadata": {"path": str(NOTEBOOKS)}},
    )
    start = time.monotonic()
    try:
        client.execute()
    except CellExecutionError as exc:
        pytest.fail(f"{path.name}: a cell raised\n{exc}")
    printed = "".join(o.get("text", "") for o in nb.cells[0].outputs).splitlines()
    assert printed == [sys.executable, sys.prefix], "the kernel is not this venv's Python"
    errors = [o for cell in nb.cells for o in cell.get("outputs", []) if o.output_type == "error"]
    assert not errors
    print(f"{path.name}: {time.monotonic() - start:.1f} s")


def test_notebooks_are_committed_without_outputs() -> None:
    for path in sorted(NOTEBOOKS.glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            if cell.cell_type == "code":
                assert not cell.outputs and cell.execution_count is None, path.name
