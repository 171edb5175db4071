"""The browser's processes, found and measured through /proc: for the watchdog and the leak checks.

Playwright does not hand out the browser's process id, so each browser is launched with a marker
switch (Chromium ignores switches it does not know) and found by it.
"""

from __future__ import annotations

import contextlib
import os
import signal
from pathlib import Path

PROC = Path("/proc")


def _children_map() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # the command name may hold spaces and parentheses: split after the last ')'
        fields = stat.rsplit(")", 1)[-1].split()
        if len(fields) > 1:
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    return children


def find_marked(marker: str) -> list[int]:
    """Processes whose command line holds `marker` (the browser's main process)."""
    found = []
    needle = marker.encode()
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            if needle in (entry / "cmdline").read_bytes():
                found.append(int(entry.name))
    return found


def tree(root_pids: list[int]) -> list[int]:
    """The given processes and all their descendants."""
    children = _children_map()
    seen: list[int] = []
    stack = list(root_pids)
    while stack:
        pid = stack.pop()
        if pid in seen:
            continue
        seen.append(pid)
        stack.extend(children.get(pid, ()))
    return seen


def memory_bytes(pids: list[int]) -> int:
    """Memory of these processes together: proportional set size (shared pages split fairly)."""
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError, ValueError, IndexError):
            for line in (PROC / str(pid) / "smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1]) * 1024
                    break
    return total


def kill(pids: list[int]) -> None:
    """SIGKILL every process given; the ones already gone are ignored."""
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)


def open_fds() -> int:
    """File descriptors this process holds (for leak checks)."""
    return len(os.listdir("/proc/self/fd"))
