"""The network-namespace suite: tests that make a browser or client try refused addresses.

They run only where no packet can leave the machine: a network namespace whose one interface is
loopback (`make test-netns` runs `unshare -n` and `ip link set lo up` first). Anywhere else they
are skipped, or fail when HOTLINE_TEST_NETNS=1 says they were meant to run.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest


def only_loopback() -> bool:
    """/proc/net/dev lists this network namespace's interfaces (/sys may show the host's)."""
    lines = Path("/proc/net/dev").read_text().splitlines()[2:]
    return {line.split(":", 1)[0].strip() for line in lines} == {"lo"}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if only_loopback():
        return
    message = "not inside a loopback-only network namespace (run `make test-netns`)"
    if os.environ.get("HOTLINE_TEST_NETNS") == "1":
        raise pytest.UsageError(message)
    for item in items:
        if Path(str(item.fspath)).parent == Path(__file__).parent:
            item.add_marker(pytest.mark.skip(reason=message))
