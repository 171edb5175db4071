"""Soak: N captures in a row through one warm `CaptureHost`, then a check for anything leaked.

Run:  python benchmarks/bench_capture_soak.py [--count 500] [--recycle-after 50]

One `CaptureHost` (the warm browser a Celery worker keeps; recycled after `recycle_after`
captures, the default) captures the sandbox pages one after another, cycling over every page the
sandbox serves (pages, a redirect, a cross-site shortener redirect, a 404). It runs with a private
temporary directory (TMPDIR and `tempfile.tempdir` point at it before Playwright starts), so the
browser HOMEs (`hotline-browser-*`) and Playwright's profile and artefact dirs (`playwright*`)
counted there are this run's only, whatever else runs on the machine.

Measured before the host exists, after a warm-up, every 100 captures and after `close()`:
  - processes: this process's descendants (the Playwright driver, Chromium and its children) and
    any process anywhere whose command line names the private temp dir (a browser that was
    orphaned to init still does), zombies among them (a renderer whose context just closed is a
    zombie for a second or two until Chromium reaps it: only one still unreaped after
    ZOMBIE_GRACE_S counts);
  - open file descriptors (/proc/self/fd) and threads of this process;
  - temp dirs `hotline-browser-*` and `playwright*` in the private temp dir;
  - this process's RSS, and the browser's PSS (`Capture.peak_rss`).

Verdict "leaks: none" or what leaked; exit status 1 on a leak or a failed capture. A leak is:
after `close()`, any process, temp dir, thread or more than FD_SLACK fds beyond the start; while
open, growth from the warm-up to the end of more than FD_SLACK fds, of threads, of any browser or
temp dir beyond the one live browser's, of RSS beyond RSS_SLACK_MIB, or a zombie left unreaped.
Everything stays on loopback, is bounded in count and time, and is cleaned up on error or Ctrl-C.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import shutil
import signal
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

FD_SLACK = 3
ZOMBIE_GRACE_S = 5.0
RSS_SLACK_MIB = 48
WARMUP = 10
MiB = 2**20


class Abort(KeyboardInterrupt):
    """Raised from signal handlers so that `finally` blocks clean up."""


def _on_signal(signum: int, _frame: object) -> None:
    raise Abort(f"stopped by signal {signal.Signals(signum).name}")


def descendants(pid: int) -> list[int]:
    """Every descendant of `pid` (zombies too), read from /proc."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                stat = f.read().decode("latin-1")
            ppid = int(stat[stat.rindex(")") + 2 :].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def naming(path: str) -> list[int]:
    """Processes anywhere whose command line holds `path`."""
    needle = path.encode()
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit() and int(entry) != os.getpid():
            with contextlib.suppress(OSError), open(f"/proc/{entry}/cmdline", "rb") as f:
                if needle in f.read():
                    found.append(int(entry))
    return found


def describe(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read().decode("latin-1")
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            cmd = f.read().replace(b"\0", b" ").decode("latin-1")
    except OSError:
        return f"{pid} (gone)"
    state = stat[stat.rindex(")") + 2 :].split()[0]
    kind = cmd.split(" --", 1)[0].rsplit("/", 1)[-1] or stat[stat.index("(") + 1 : stat.rindex(")")]
    role = next((p for p in cmd.split() if p.startswith("--type=")), "")
    return f"{pid} {state} {kind} {role}".strip()


def _state(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read().decode("latin-1")
        return stat[stat.rindex(")") + 2 :].split()[0]
    except OSError:
        return "gone"


def lingering(zombies: list[int]) -> list[int]:
    """The zombies among these that are still unreaped after ZOMBIE_GRACE_S."""
    deadline = time.monotonic() + ZOMBIE_GRACE_S
    left = list(zombies)
    while left and time.monotonic() < deadline:
        time.sleep(0.25)
        left = [pid for pid in left if _state(pid) == "Z"]
    return left


def rss_bytes() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


@dataclass
class Snapshot:
    label: str
    processes: list[int]
    zombies: list[int]
    browsers: int
    fds: int
    threads: int
    browser_homes: int
    playwright_dirs: int
    rss: int
    fd_targets: dict[str, int] = field(default_factory=dict)

    @property
    def temp_dirs(self) -> int:
        return self.browser_homes + self.playwright_dirs


def fd_kinds() -> dict[str, int]:
    """Open fds by kind (socket, pipe, anon_inode:[eventpoll], a file path, …)."""
    kinds: dict[str, int] = {}
    for fd in os.listdir("/proc/self/fd"):
        with contextlib.suppress(OSError):
            target = os.readlink(f"/proc/self/fd/{fd}")
            kind = target.split(":", 1)[0] if ":" in target else "file " + target
            kinds[kind] = kinds.get(kind, 0) + 1
    return kinds


def snapshot(label: str, tmp: Path) -> Snapshot:
    procs = sorted(set(descendants(os.getpid())) | set(naming(str(tmp))))
    states = {pid: _state(pid) for pid in procs}
    procs = [pid for pid in procs if states[pid] != "gone"]
    browsers = 0
    for pid in procs:
        with contextlib.suppress(OSError), open(f"/proc/{pid}/cmdline", "rb") as f:
            cmd = f.read()
            if b"--hotline-browser=" in cmd and b"--type=" not in cmd:
                browsers += 1
    names = os.listdir(tmp)
    return Snapshot(
        label,
        procs,
        [pid for pid in procs if states[pid] == "Z"],
        browsers,
        len(os.listdir("/proc/self/fd")),
        threading.active_count(),
        sum(1 for n in names if n.startswith("hotline-browser-")),
        sum(1 for n in names if n.startswith("playwright")),
        rss_bytes(),
        fd_kinds(),
    )


def pct(values: Sequence[float], p: float) -> float:
    if not values:
        return float("nan")
    data = sorted(values)
    k = max(0, min(len(data) - 1, round(p / 100 * len(data) + 0.5) - 1))
    return data[k]


class CountingHandler(logging.Handler):
    """Counts what asyncio logs as errors (exceptions in callbacks, unretrieved task errors)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.count = 0
        self.first: str | None = None

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1
        if self.first is None:
            self.first = record.getMessage().splitlines()[0][:160]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=500, help="captures in a row (500)")
    parser.add_argument(
        "--recycle-after", type=int, default=None, help="browser recycle (default: the setting's)"
    )
    args = parser.parse_args()
    count = max(1, args.count)

    # a private temp dir for everything this run makes, before Playwright or tempfile start
    tmp = Path(tempfile.mkdtemp(prefix="hl_soak_"))
    os.environ["TMPDIR"] = str(tmp)
    tempfile.tempdir = str(tmp)

    from crawler import sandbox_sites
    from crawler.capture_host import CaptureHost
    from crawler.sandbox import SandboxWeb
    from triage_api.config import Settings

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from bench_capture import Load, capture_options, measure_load

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGALRM, _on_signal)
    signal.alarm(max(900, count * 6))
    asyncio_errors = CountingHandler()
    logging.getLogger("asyncio").addHandler(asyncio_errors)

    # every page the sandbox serves at once (not slow.kz), with what it should give
    pages = [
        (f"http://{site.host}{path}", page)
        for site in sandbox_sites.SITES
        for path, page in site.pages.items()
    ]
    web: SandboxWeb | None = None
    host: CaptureHost | None = None
    status = 1
    try:
        web = SandboxWeb().start()
        settings = Settings(data_dir=tmp / "data", host_map=web.host_map, host_map_only=True)
        options = capture_options(settings)
        if args.recycle_after:
            options["recycle_after"] = args.recycle_after
        recycle_after = options["recycle_after"]
        time.sleep(0.2)
        before = snapshot("before (no host)", tmp)
        host = CaptureHost(**options)
        seconds: list[float] = []
        outcomes: dict[str, int] = {}
        failures: list[str] = []
        blocks: list[tuple[int, list[float], Snapshot, int, int]] = []
        warm: Snapshot | None = None
        block_start = 0
        loads: list[Load] = []
        meter = measure_load(str(tmp))
        loads.append(meter.__enter__())
        t_start = time.perf_counter()
        for i in range(count):
            url, page = pages[i % len(pages)]
            start = time.perf_counter()
            result = host.capture(url)
            seconds.append(time.perf_counter() - start)
            outcomes[result.outcome] = outcomes.get(result.outcome, 0) + 1
            expected = 200 if page.redirect else page.status
            if result.outcome != "ok" or result.http_status != expected or not result.screenshot:
                failures.append(
                    f"#{i + 1} {url}: outcome={result.outcome} status={result.http_status} "
                    f"screenshot={'yes' if result.screenshot else 'no'} {result.error or ''}"
                )
            del result
            done = i + 1
            if done == min(WARMUP, count):
                warm = snapshot(f"after {done} (warm)", tmp)
            if done % 100 == 0 or done == count:
                capture = getattr(host, "_capture", None)  # the host's Capture (private)
                launches = int(getattr(capture, "launches", 0))
                peak = int(getattr(capture, "peak_rss", 0))
                meter.__exit__(None, None, None)
                snap = snapshot(f"after {done}", tmp)
                blocks.append((done, seconds[block_start:], snap, launches, peak))
                block_start = done
                if done < count:
                    meter = measure_load(str(tmp))
                    loads.append(meter.__enter__())
                print(
                    f"  {done}/{count} captures, {time.perf_counter() - t_start:.0f} s",
                    file=sys.stderr,
                )
        total_s = time.perf_counter() - t_start
        end_open = blocks[-1][2]
        launches = blocks[-1][3]
        end_lingering = lingering(end_open.zombies)
        host.close()
        host = None
        time.sleep(1.0)  # the loop's executor threads and reaped children settle
        after = snapshot("after close()", tmp)
        assert warm is not None

        print()
        print("Kaznet Hotline Triage — capture soak through one warm CaptureHost")
        print(
            f"  {count} captures in a row over {len(pages)} sandbox pages; recycle_after "
            f"{recycle_after}; browser launches {launches}; {os.cpu_count()} cores; load "
            f"average {os.getloadavg()[0]:.1f}; total {total_s:.0f} s "
            f"({count / total_s * 60:.1f} captures/min)"
        )
        print(f"  private temp dir: {tmp}")
        print()
        header = (
            f"  {'captures':>9} {'/min':>6} {'median s':>9} {'p95 s':>7} {'max s':>7} "
            f"{'procs':>6} {'browsers':>8} {'fds':>5} {'threads':>7} {'tmp dirs':>8} "
            f"{'RSS MiB':>8} {'browser peak PSS':>16} {'busy/ours/other cores':>22}"
        )
        print(header)
        print("  " + "-" * (len(header) - 2))

        def row(
            label: str,
            snap: Snapshot,
            block: list[float] | None,
            peak: int | None,
            load: Load | None = None,
        ) -> None:
            timing = (
                f"{len(block) / sum(block) * 60:>6.1f} {statistics.median(block):>9.2f} "
                f"{pct(block, 95):>7.2f} {max(block):>7.2f}"
                if block
                else f"{'':>6} {'':>9} {'':>7} {'':>7}"
            )
            print(
                f"  {label:>9} {timing} {len(snap.processes):>6} {snap.browsers:>8} "
                f"{snap.fds:>5} {snap.threads:>7} {snap.temp_dirs:>8} {snap.rss / MiB:>8.1f} "
                + (f"{peak / MiB:>12.0f} MiB" if peak else f"{'':>16}")
                + (
                    f" {load.busy_cores:>8.2f}/{load.own_cores:.2f}/{load.foreign_cores:.2f}"
                    if load
                    else ""
                )
            )

        row("before", before, None, None)
        row(f"{WARMUP} (warm)", warm, None, None)
        for (done, block, snap, _launches, peak), load in zip(blocks, loads, strict=True):
            row(str(done), snap, block, peak, load)
        row("closed", after, None, None)
        print()
        print(
            f"  per capture: median {statistics.median(seconds):.2f} s, p95 "
            f"{pct(seconds, 95):.2f} s, max {max(seconds):.2f} s; outcomes {outcomes}"
        )
        print(f"  failed captures: {len(failures)}")
        for failure in failures[:10]:
            print(f"    - {failure[:200]}")
        print(
            f"  temp dirs (hotline-browser-* / playwright*): before {before.browser_homes}/"
            f"{before.playwright_dirs}, warm {warm.browser_homes}/{warm.playwright_dirs}, "
            f"end {end_open.browser_homes}/{end_open.playwright_dirs}, "
            f"after close {after.browser_homes}/{after.playwright_dirs}"
        )
        print(
            f"  open fds: before {before.fds}, warm {warm.fds}, end {end_open.fds}, after close "
            f"{after.fds}; by kind at the end: {dict(sorted(end_open.fd_targets.items()))}"
        )
        print(
            f"  processes: before {len(before.processes)}, warm {len(warm.processes)}, end "
            f"{len(end_open.processes)} ({len(end_open.zombies)} zombies, "
            f"{len(end_lingering)} still unreaped {ZOMBIE_GRACE_S:g} s later), after close "
            f"{len(after.processes)} ({len(after.zombies)} zombies)"
        )
        per_capture_kib = (end_open.rss - warm.rss) / max(1, count - WARMUP) / 1024
        print(
            f"  RSS of this process: before {before.rss / MiB:.1f} MiB, warm "
            f"{warm.rss / MiB:.1f}, end {end_open.rss / MiB:.1f}, after close "
            f"{after.rss / MiB:.1f} ({per_capture_kib:.1f} KiB per capture after the warm-up)"
        )
        print(
            f"  asyncio errors logged: {asyncio_errors.count}"
            + (f" — first: {asyncio_errors.first}" if asyncio_errors.first else "")
        )

        leaks = []
        extra = [pid for pid in after.processes if pid not in before.processes]
        if extra:
            leaks.append(
                f"{len(extra)} process(es) outlived close(): "
                + "; ".join(describe(pid) for pid in extra[:8])
            )
        if end_open.browsers > 1:
            leaks.append(f"{end_open.browsers} browsers alive at the end (one expected)")
        if end_lingering:
            leaks.append(
                f"{len(end_lingering)} zombie(s) unreaped for {ZOMBIE_GRACE_S:g} s while open: "
                + "; ".join(describe(pid) for pid in end_lingering[:8])
            )
        if after.fds - before.fds > FD_SLACK:
            leaks.append(f"{after.fds - before.fds} fds more after close() than before")
        if end_open.fds - warm.fds > FD_SLACK:
            grown = {
                k: v - warm.fd_targets.get(k, 0)
                for k, v in end_open.fd_targets.items()
                if v > warm.fd_targets.get(k, 0)
            }
            leaks.append(
                f"{end_open.fds - warm.fds} fds more after {count} captures than after "
                f"{WARMUP} (grown: {grown})"
            )
        if after.threads > before.threads:
            leaks.append(f"{after.threads - before.threads} thread(s) outlived close()")
        if end_open.threads - warm.threads > 2:
            leaks.append(f"threads grew from {warm.threads} to {end_open.threads} while open")
        if after.temp_dirs > before.temp_dirs:
            leaks.append(
                f"temp dirs left after close(): {after.browser_homes} hotline-browser-*, "
                f"{after.playwright_dirs} playwright* ({', '.join(sorted(os.listdir(tmp))[:6])})"
            )
        if end_open.temp_dirs > max(warm.temp_dirs, 3):
            leaks.append(f"temp dirs grew from {warm.temp_dirs} to {end_open.temp_dirs} while open")
        if (end_open.rss - warm.rss) / MiB > RSS_SLACK_MIB:
            leaks.append(
                f"RSS grew {(end_open.rss - warm.rss) / MiB:.0f} MiB from the warm-up to the end"
            )
        print(f"  leaks: {'none' if not leaks else '; '.join(leaks)}")
        status = 1 if leaks or failures else 0
    except (Abort, KeyboardInterrupt) as exc:
        print(f"\ninterrupted: {str(exc) or 'Ctrl-C'}; cleaning up", file=sys.stderr)
        status = 130
    except Exception as exc:
        print(f"\nsoak failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        status = 1
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.alarm(0)
        if host is not None:
            with contextlib.suppress(Exception):
                host.close()
        for pid in set(descendants(os.getpid())) | set(naming(str(tmp))):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        if web is not None:
            web.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
