"""One onnxruntime session on the CPU with one thread: the workers scale by processes, so a
model never competes with its siblings for the cores."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def cpu_session(path: Path) -> Any:
    """An `onnxruntime.InferenceSession` for `path`; onnxruntime's own errors pass through."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
