"""The hostile suite as a worker meets it: every hostile page through one warm browser.

Run:  python benchmarks/bench_hostile.py [--limit SECONDS]

Each page of `crawler.hostile_web.HOSTILE_PAGES` (except those aimed at refused addresses, which
the network-namespace tests cover) is captured by one `CaptureHost`, as a Celery worker does, with
a wall-clock limit of `--limit` seconds. Printed per page: outcome, seconds, and whether it ended
within limit + 5 s. Then the worker side: this process's memory (RSS) and open file descriptors
before, after and after closing the browser, and browser launches (recycles after crashes or kills).
Baseline in the same run: the sandbox web's plain page through the same host.
Everything stays on 127.0.0.1 (the hostile web, pinned names, every other name unresolved).
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from crawler import process_tree
from crawler.capture import CaptureLimits
from crawler.capture_host import CaptureHost
from crawler.hostile_web import HOSTILE_PAGES, HostileWeb
from crawler.sandbox import SandboxWeb

GRACE_S = 5.0


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def browsers_below_me() -> int:
    mine = process_tree.tree([os.getpid()])
    return sum(
        1
        for pid in mine
        if pid != os.getpid() and b"chrom" in _cmdline(pid) and b"--type=" not in _cmdline(pid)
    )


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=float, default=10.0, help="capture wall-clock limit, s")
    args = parser.parse_args()
    pages = [page for page in HOSTILE_PAGES if not page.refused_target]
    with SandboxWeb() as sandbox, HostileWeb(hold_s=120) as hostile:
        host_map = {**sandbox.host_map, **hostile.host_map}
        host = CaptureHost(
            host_map=host_map, host_map_only=True, limits=CaptureLimits(timeout_s=args.limit)
        )
        try:
            start = time.monotonic()
            host.capture("http://zhasyl-bazar.kz/")  # launch and warm up
            warm_s = time.monotonic() - start
            baseline = []
            for _ in range(3):
                start = time.monotonic()
                host.capture("http://zhasyl-bazar.kz/")
                baseline.append(time.monotonic() - start)
            gc.collect()
            rss_before, fds_before = rss_mib(), process_tree.open_fds()
            print(
                "Kaznet Hotline Triage — hostile suite through one warm browser "
                f"(limit {args.limit:g} s)"
            )
            print(
                f"  browser launch + first capture {warm_s:.2f} s; plain sandbox page (baseline) "
                f"median {sorted(baseline)[1]:.2f} s\n"
            )
            print(
                f"  {'page':26} {'outcome':15} {'seconds':>8}  "
                f"within limit+{GRACE_S:g}s  stopped by / error"
            )
            print("  " + "-" * 110)
            late = []
            total = 0.0
            for page in pages:
                start = time.monotonic()
                result = host.capture(page.url)
                elapsed = time.monotonic() - start
                total += elapsed
                ok = elapsed <= args.limit + GRACE_S
                if not ok:
                    late.append(page.name)
                why = (result.stopped_by or result.error or "")[:60]
                print(
                    f"  {page.name:26} {result.outcome:15} {elapsed:8.2f}  "
                    f"{'yes' if ok else 'NO':>16}  {why}"
                )
            gc.collect()
            rss_after, fds_after = rss_mib(), process_tree.open_fds()
            capture = host._capture
            launches = capture.launches if capture else 0
            peak = capture.peak_rss / 2**20 if capture else 0.0
        finally:
            host.close()
        gc.collect()
        rss_closed, fds_closed = rss_mib(), process_tree.open_fds()
        leftover = browsers_below_me()
    print()
    print(
        f"  pages: {len(pages)}; total {total:.1f} s; late (over limit + {GRACE_S:g} s): "
        f"{', '.join(late) or 'none'}"
    )
    print(
        f"  hostile/baseline time ratio (mean per page / plain page): "
        f"{total / len(pages) / sorted(baseline)[1]:.1f}"
    )
    print(
        f"  browser launches during the suite: {launches} (1 = never replaced); "
        f"peak browser memory (PSS) {peak:.0f} MiB"
    )
    print(
        f"  worker process RSS MiB: before {rss_before:.0f}, after suite {rss_after:.0f}, "
        f"after closing the browser {rss_closed:.0f} (growth {rss_closed - rss_before:+.0f})"
    )
    print(f"  open fds: before {fds_before}, after suite {fds_after}, after closing {fds_closed}")
    print(f"  browser processes left: {leftover}")
    return 1 if late or leftover else 0


if __name__ == "__main__":
    raise SystemExit(main())
