"""Capture speed on the sandbox web: in-process captures, then end to end through Celery workers.

Run:  python benchmarks/bench_capture.py [--quick] [--backends sqlite,postgres] [--concurrency 1,2]

(a) In process, one capture at a time, on the sandbox pages that answer 200 (host map of a running
    `SandboxWeb`, host_map_only=True):
      - a fresh Chromium per capture: `take_capture(url)` = `capture_url`, the old way;
      - a warm browser: one `Capture` reused across `run(url)` calls;
      - a warm browser: `take_capture(url, warm=True)` = the process's `CaptureHost`, what a
        Celery worker does;
      - the light fetch: `take_capture(url, light=True)` = `fetch_url` through the egress point;
      - the baseline, measured in the same run: a plain `httpx.get` of the page (and of the page
        plus its images).
    Then k warm browsers side by side (k `CaptureHost`s driven from k threads) for k = 1..4:
    captures per minute on this machine without Celery or a database in the way.
    Memory is the proportional set size (PSS) of one browser's processes together: the peak of
    `Capture.peak_rss` (the watchdog's 0.5 s samples) and of this script's own 0.25 s sampler.
(b) End to end: real `hotline worker -c N` processes (a warm browser per pool process), for
    SQLite + the embedded filesystem broker and for PostgreSQL + Redis (as bench_intake), N = 1, 2,
    3 and 4 if 3 still helped. Each run files warm-up reports first (so every pool process has
    started its browser), then M reports of distinct sandbox URLs (the sandbox ignores query
    strings, so `http://zhasyl-bazar.kz/?n=3` is the same page under a new case) with
    `file_report` + `enqueue`; the clock runs from the first filing until every case is "ready"
    (captured, analysed, scored).

The machine has 2 cores that other work may share: each phase prints how busy the machine was,
how much of it was this benchmark (its processes, its workers and every browser process, found by
the run's private TMPDIR in their profile path) and so how much was other work, and the CPU
seconds per capture, which set the ceiling: 2 cores x 60 s / CPU s per capture = captures/min.
Everything stays on loopback, is bounded in count and time, and is cleaned up (worker process
groups, leftover browsers, the test database and Redis db, temp dirs) also on error, Ctrl-C or
SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import re
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from crawler import process_tree, sandbox_sites
from crawler.capture import Capture, CaptureLimits, CaptureResult
from crawler.capture_host import CaptureHost, close_hosts
from crawler.sandbox import SandboxWeb
from triage_api.config import Settings
from triage_api.pipeline import take_capture

HOTLINE = str(Path(sys.executable).with_name("hotline"))
PG_ADMIN_DSN = "host=127.0.0.1 port=5432 user=postgres dbname=test"
REDIS_URL = "redis://127.0.0.1:6379/13"  # bench_intake uses db 12, the tests db 9
TARGET_PER_MIN = 40.0
TOTAL_TIME_LIMIT_S = 20 * 60  # the whole run, whatever happens (a full run takes ~13 min)
WORKER_READY_TIMEOUT_S = 90.0
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
MiB = 2**20
FILE_HELPER = r"""
import json, sys, time
from triage_api.db import session_scope
from triage_api.intake import file_report
from triage_api.tasks import enqueue
urls = json.loads(sys.stdin.read())
t0 = time.time()
ids = []
for url in urls:
    with session_scope() as session:
        filed = file_report(session, url=url, channel="cli")
    if filed.next_stage:
        enqueue(filed.next_stage, filed.case_id)
    ids.append(filed.case_id)
print(json.dumps({"t0": t0, "t1": time.time(), "case_ids": ids}))
"""


class Abort(KeyboardInterrupt):
    """Raised from signal handlers so that `finally` blocks clean up."""


def _on_signal(signum: int, _frame: object) -> None:
    raise Abort(f"stopped by signal {signal.Signals(signum).name}")


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


# --------------------------------------------------------------------------- processes


def descendants(pid: int) -> list[int]:
    """Every live descendant of `pid`, read from /proc."""
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


def alive(pid: int) -> bool:
    """True for a process that exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read().decode("latin-1")
    except OSError:
        return False
    return stat[stat.rindex(")") + 2 :].split()[0] != "Z"


def kill_pids(pids: list[int]) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)


def stop_process_group(proc: subprocess.Popen, grace_s: float = 20.0) -> int:
    """SIGTERM the Celery main process (a warm shutdown that closes its pool and browsers), then
    SIGKILL its group and any descendant that had left the group (Playwright starts Chromium
    detached). Returns how many of its processes were still alive after the warm shutdown."""
    family = descendants(proc.pid)
    stragglers = 0
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(grace_s)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(5)
        time.sleep(0.3)
        stragglers = sum(1 for pid in family if alive(pid))
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(5)
    kill_pids(family)
    return stragglers


# --------------------------------------------------------------------------- measuring


def pct(values: Sequence[float], p: float) -> float:
    if not values:
        return float("nan")
    data = sorted(values)
    k = max(0, min(len(data) - 1, round(p / 100 * len(data) + 0.5) - 1))
    return data[k]


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def _cmdline(pid: int) -> bytes:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read()
    except OSError:
        return b""


class BrowserSampler:
    """Samples, every `interval` s, each browser under `root`: a browser is a process launched
    with Capture's `--hotline-browser=` marker, plus its descendants; its memory is their PSS
    together. Keeps the peak per browser, the most browsers alive at once, and the peak PSS of
    `root`'s whole process tree (the worker with its pool processes and browsers)."""

    def __init__(self, root: int, interval: float = 0.25, whole_tree: bool = False) -> None:
        self.root, self.interval, self.whole_tree = root, interval, whole_tree
        self.peak_by_browser: dict[bytes, int] = {}
        self.most_browsers = 0
        self.peak_tree = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def __enter__(self) -> BrowserSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join(5)

    @property
    def peak_per_browser(self) -> int:
        return max(self.peak_by_browser.values(), default=0)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            with contextlib.suppress(Exception):
                self._sample()

    def _sample(self) -> None:
        pids = descendants(self.root)
        browsers = 0
        for pid in pids:
            cmd = _cmdline(pid)
            start = cmd.find(b"--hotline-browser=")
            if start < 0 or b"--type=" in cmd:
                continue
            marker = cmd[start:].split(b"\0", 1)[0]
            pss = process_tree.memory_bytes(process_tree.tree([pid]))
            browsers += 1
            self.peak_by_browser[marker] = max(self.peak_by_browser.get(marker, 0), pss)
        self.most_browsers = max(self.most_browsers, browsers)
        if self.whole_tree:
            self.peak_tree = max(self.peak_tree, process_tree.memory_bytes([self.root, *pids]))


def _machine_busy_s() -> float:
    with open("/proc/stat") as f:
        values = [int(v) for v in f.readline().split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return (sum(values[:8]) - idle) / CLOCK_TICKS


@dataclass
class Load:
    """How busy the machine was during a phase, and how much of it was this benchmark."""

    wall_s: float = 0.0
    busy_cores: float = 0.0
    own_cores: float = 0.0
    loadavg: float = 0.0

    @property
    def foreign_cores(self) -> float:
        return max(0.0, self.busy_cores - self.own_cores)

    def cpu_per(self, captures: int) -> float:
        """CPU seconds this benchmark spent per capture (browser, proxy, Python, DB, broker)."""
        return self.own_cores * self.wall_s / captures if captures else float("nan")

    def describe(self, captures: int = 0) -> str:
        per = f"; {self.cpu_per(captures):.2f} CPU s per capture" if captures else ""
        return (
            f"machine busy {self.busy_cores:.2f} of {os.cpu_count()} cores: this benchmark "
            f"{self.own_cores:.2f}, other work {self.foreign_cores:.2f}; load average "
            f"{self.loadavg:.1f}{per}"
        )


@dataclass
class _Seen:
    first: float  # CPU seconds (own + reaped children) when first seen in the phase
    last: float
    orphan: bool  # its parent at the last look was not one of ours (init reaps it)


class CpuMeter:
    """The CPU this benchmark's processes use in a phase, whatever other work shares the machine.

    Ours: this process, its descendants, and any process whose command line names `needle` (the
    private temp dir: every browser process has its profile there, also a zygote that its browser
    left to init). A process's CPU counts its own and its reaped children's; a process that ends
    is counted through its parent when one of ours reaped it, else from its last sample.
    """

    def __init__(self, needle: str, interval: float = 0.25) -> None:
        self.needle = needle.encode()
        self.interval = interval
        self.seen: dict[tuple[int, str], _Seen] = {}
        self._names: dict[tuple[int, str], bool] = {}
        self._started = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _names_us(self, key: tuple[int, str]) -> bool:
        if key not in self._names:
            self._names[key] = self.needle in _cmdline(key[0])
        return self._names[key]

    def sample(self) -> set[tuple[int, str]]:
        table: dict[int, tuple[int, str, float]] = {}
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/stat", "rb") as f:
                    stat = f.read().decode("latin-1")
                fields = stat[stat.rindex(")") + 2 :].split()
                cpu = sum(int(v) for v in fields[11:15]) / CLOCK_TICKS  # u, s, cu, cs
                table[int(entry)] = (int(fields[1]), fields[19], cpu)
            except (OSError, ValueError, IndexError):
                continue
        children: dict[int, list[int]] = {}
        for pid, (ppid, _start, _cpu) in table.items():
            children.setdefault(ppid, []).append(pid)
        roots = [os.getpid()] + [
            pid for pid, (_p, start, _c) in table.items() if self._names_us((pid, start))
        ]
        ours: set[int] = set()
        while roots:
            pid = roots.pop()
            if pid not in ours and pid in table:
                ours.add(pid)
                roots.extend(children.get(pid, ()))
        keys = set()
        for pid in ours:
            ppid, start, cpu = table[pid]
            key = (pid, start)
            keys.add(key)
            known = self.seen.get(key)
            if known is None:
                # a process born in the phase counts from 0 (its parent reaps all of it)
                self.seen[key] = _Seen(cpu if not self._started else 0.0, cpu, ppid not in ours)
            else:
                known.last, known.orphan = cpu, ppid not in ours
        return keys

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            with contextlib.suppress(Exception):
                self.sample()

    def start(self) -> None:
        self.sample()
        self._started = True
        self._thread.start()

    def stop(self) -> float:
        """CPU seconds of ours since `start`."""
        self._stop.set()
        self._thread.join(5)
        alive = self.sample()
        return sum(
            (e.last if key in alive or e.orphan else 0.0) - e.first for key, e in self.seen.items()
        )


@contextlib.contextmanager
def measure_load(needle: str) -> Iterator[Load]:
    """Machine busy time (/proc/stat) and this benchmark's share of it (`CpuMeter`)."""
    load = Load()
    meter = CpuMeter(needle)
    meter.start()
    busy0, t0 = _machine_busy_s(), time.monotonic()
    try:
        yield load
    finally:
        own = meter.stop()
        load.wall_s = time.monotonic() - t0
        busy = _machine_busy_s() - busy0
        if load.wall_s > 0:
            load.busy_cores = busy / load.wall_s
            load.own_cores = own / load.wall_s
        load.loadavg = os.getloadavg()[0]


# --------------------------------------------------------------------------- (a) in process


def ok_pages() -> list[tuple[str, str, sandbox_sites.Page]]:
    """(host, path, page) of every sandbox page that answers 200 without a redirect."""
    return [
        (site.host, path, page)
        for site in sandbox_sites.SITES
        for path, page in site.pages.items()
        if page.status == 200 and not page.redirect
    ]


def capture_options(settings: Settings) -> dict[str, Any]:
    """The options `take_capture` gives `Capture` (for driving `Capture` directly)."""
    return {
        "limits": CaptureLimits(
            timeout_s=settings.capture_timeout_s,
            max_image_bytes=settings.capture_max_image_bytes,
            max_images=settings.capture_max_images,
            max_total_bytes=settings.capture_max_total_bytes,
            viewport=settings.capture_viewport,
            max_screenshot_height=settings.capture_max_screenshot_height,
        ),
        "chromium_path": settings.chromium_path,
        "host_map": settings.host_map,
        "host_map_only": settings.host_map_only,
        "allow_private": tuple(settings.egress_allow),
        "recycle_after": settings.capture_recycle_after,
        "memory_limit_mb": settings.capture_memory_limit_mb,
    }


@dataclass
class Series:
    name: str
    seconds: list[float] = field(default_factory=list)
    note: str = ""


@dataclass
class Parallel:
    browsers: int
    captures: int
    wall_s: float
    latencies: list[float]
    peak_rss: list[int]
    load: Load

    @property
    def per_minute(self) -> float:
        return self.captures / self.wall_s * 60 if self.wall_s else 0.0


@dataclass
class InProcess:
    count: int
    cold_s: float
    fresh: Series
    warm_capture: Series
    warm_host: Series
    light: Series
    plain: Series
    plain_images: Series
    capture_start_s: float
    host_first_s: float
    warm_launches: int
    watchdog_peak: int
    sampler_fresh_peak: int
    sampler_warm_peak: int
    parallel: list[Parallel]
    failures: list[str]
    images: int
    expected_images: int
    screenshot_bytes: list[int]
    loads: dict[str, Load]


class Checker:
    def __init__(self) -> None:
        self.failures: list[str] = []
        self.images = 0
        self.expected = 0
        self.shots: list[int] = []

    def __call__(
        self, result: CaptureResult, url: str, page: sandbox_sites.Page, browser: bool = True
    ) -> None:
        problems = []
        if result.outcome != "ok" or result.http_status != 200:
            problems.append(f"outcome={result.outcome} status={result.http_status} {result.error}")
        if browser:
            if not result.screenshot:
                problems.append("no screenshot")
            if len(result.images) != len(page.images):
                problems.append(f"{len(result.images)}/{len(page.images)} images")
            self.images += len(result.images)
            self.expected += len(page.images)
            self.shots.append(len(result.screenshot or b""))
        elif not result.title:
            problems.append("no title")
        if problems:
            self.failures.append(f"{url}: {'; '.join(problems)}")


def run_in_process(
    web: SandboxWeb, tmp: Path, count: int, parallel_each: int, ks: tuple[int, ...]
) -> InProcess:
    settings = Settings(data_dir=tmp / "inproc", host_map=web.host_map, host_map_only=True)
    options = capture_options(settings)
    urls = [(f"http://{host}{path}", host, path, page) for host, path, page in ok_pages()]
    check = Checker()
    loads: dict[str, Load] = {}

    def pick(i: int) -> tuple[str, str, str, sandbox_sites.Page]:
        return urls[i % len(urls)]

    # a cold first capture (disk cache, first Chromium start), not in the figures
    start = time.perf_counter()
    check(take_capture(urls[0][0], settings), urls[0][0], urls[0][3])
    cold_s = time.perf_counter() - start

    # a fresh browser per capture: take_capture(url) -> capture_url, the old way
    fresh = Series("fresh Chromium per capture (capture_url)")
    with BrowserSampler(os.getpid()) as fresh_sampler, measure_load(str(tmp)) as load:
        for i in range(count):
            url, _host, _path, page = pick(i)
            start = time.perf_counter()
            result = take_capture(url, settings)
            fresh.seconds.append(time.perf_counter() - start)
            check(result, url, page)
    loads["fresh"] = load

    # a warm browser: one Capture, run() after run()
    warm_capture = Series("warm browser: Capture reused")
    stats: dict[str, float] = {}

    async def reuse() -> None:
        t0 = time.perf_counter()
        async with Capture(**options) as capture:
            stats["start_s"] = time.perf_counter() - t0
            for i in range(count):
                url, _host, _path, page = pick(i)
                start = time.perf_counter()
                result = await capture.run(url)
                warm_capture.seconds.append(time.perf_counter() - start)
                check(result, url, page)
            stats["launches"] = capture.launches
            stats["peak"] = capture.peak_rss

    with BrowserSampler(os.getpid()) as warm_sampler, measure_load(str(tmp)) as load:
        asyncio.run(reuse())
    loads["warm Capture"] = load

    # a warm browser the way a worker has it: take_capture(url, warm=True) -> CaptureHost
    warm_host = Series("warm browser: CaptureHost (worker path)")
    try:
        with (
            BrowserSampler(os.getpid()) as host_sampler,
            measure_load(str(tmp)) as load,
        ):
            start = time.perf_counter()
            check(take_capture(pick(1)[0], settings, warm=True), pick(1)[0], pick(1)[3])
            host_first_s = time.perf_counter() - start
            for i in range(count):
                url, _host, _path, page = pick(i)
                start = time.perf_counter()
                result = take_capture(url, settings, warm=True)
                warm_host.seconds.append(time.perf_counter() - start)
                check(result, url, page)
        loads["warm CaptureHost"] = load
    finally:
        close_hosts()

    # the light fetch and the baselines
    light = Series("light fetch (fetch_url, egress point)")
    plain = Series("plain httpx.get of the page (baseline)")
    plain_images = Series("plain httpx: page + its images")
    base = f"http://127.0.0.1:{web.port}"
    take_capture(pick(0)[0], settings, light=True)  # imports, first connection
    for i in range(count):
        url, host, path, page = pick(i)
        start = time.perf_counter()
        result = take_capture(url, settings, light=True)
        light.seconds.append(time.perf_counter() - start)
        check(result, url, page, browser=False)
        start = time.perf_counter()
        answer = httpx.get(f"{base}{path}", headers={"Host": host}, timeout=30)
        plain.seconds.append(time.perf_counter() - start)
        if answer.status_code != 200:
            check.failures.append(f"plain GET {host}{path}: {answer.status_code}")
        start = time.perf_counter()
        with httpx.Client(base_url=base, headers={"Host": host}, timeout=30) as client:
            client.get(path).raise_for_status()
            for name in page.images:
                client.get(f"/img/{name}").raise_for_status()
        plain_images.seconds.append(time.perf_counter() - start)

    # k warm browsers side by side, each a CaptureHost driven from its own thread
    parallel = [run_parallel(k, parallel_each, options, pick, check, tmp) for k in ks]

    return InProcess(
        count,
        cold_s,
        fresh,
        warm_capture,
        warm_host,
        light,
        plain,
        plain_images,
        stats["start_s"],
        host_first_s,
        int(stats["launches"]),
        int(stats["peak"]),
        fresh_sampler.peak_per_browser,
        max(warm_sampler.peak_per_browser, host_sampler.peak_per_browser),
        parallel,
        check.failures,
        check.images,
        check.expected,
        check.shots,
        loads,
    )


def run_parallel(
    k: int,
    each: int,
    options: dict[str, Any],
    pick: Callable[[int], tuple[str, str, str, sandbox_sites.Page]],
    check: Checker,
    tmp: Path,
) -> Parallel:
    """`k` CaptureHosts, one thread each (a host's lock serialises its own captures)."""
    hosts = [CaptureHost(**options) for _ in range(k)]
    total = k * each
    latencies: list[float] = []

    def one_host(j: int) -> None:
        for i in range(j, total, k):
            url, _host, _path, page = pick(i)
            start = time.perf_counter()
            result = hosts[j].capture(url)
            latencies.append(time.perf_counter() - start)
            check(result, url, page)

    try:
        with ThreadPoolExecutor(k) as pool:
            list(pool.map(lambda h: h.capture(pick(0)[0]), hosts))  # start the browsers first
            with measure_load(str(tmp)) as load:
                t0 = time.perf_counter()
                list(pool.map(one_host, range(k)))
                wall = time.perf_counter() - t0
        # the Capture inside each host keeps the watchdog's peak (a private attribute)
        peaks = [int(getattr(getattr(h, "_capture", None), "peak_rss", 0) or 0) for h in hosts]
    finally:
        for host in hosts:
            host.close()
    return Parallel(k, total, wall, latencies, peaks, load)


# --------------------------------------------------------------------------- (b) end to end


class Backend:
    """Where cases live and how jobs travel: SQLite + filesystem broker, or PostgreSQL + Redis."""

    name = ""

    def env(self, data_dir: Path, host_map: dict[str, str]) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("HOTLINE_")}
        env.update(
            {
                "HOTLINE_DATA_DIR": str(data_dir),
                "HOTLINE_HOST_MAP": json.dumps(host_map),
                "HOTLINE_HOST_MAP_ONLY": "true",
                # the browsers' HOMEs and profiles in the run's temp dir: cleaned up with it, and
                # how CpuMeter tells this benchmark's browser processes from anyone else's
                "TMPDIR": str(data_dir.parent),
            }
        )
        return env

    def prepare(self, tag: str) -> None:
        """A fresh database for one run."""

    def discard(self) -> None:
        """Drop what `prepare` made; safe to call twice."""

    def query(self, data_dir: Path, sql: str) -> list[tuple[Any, ...]]:
        raise NotImplementedError


class SqliteBackend(Backend):
    name = "SQLite + embedded broker"

    def query(self, data_dir: Path, sql: str) -> list[tuple[Any, ...]]:
        db = sqlite3.connect(data_dir / "hotline.sqlite", timeout=30)
        try:
            return list(db.execute(sql))
        finally:
            db.close()


class PostgresBackend(Backend):
    name = "PostgreSQL + Redis"

    def __init__(self) -> None:
        import psycopg
        import redis

        self._psycopg = psycopg
        self._redis = redis.Redis.from_url(REDIS_URL)
        self.dbname: str | None = None

    def available(self) -> str | None:
        """Why this backend cannot run here, or None."""
        try:
            with self._psycopg.connect(PG_ADMIN_DSN, autocommit=True, connect_timeout=5):
                pass
            self._redis.ping()
        except Exception as exc:
            return f"{type(exc).__name__}: {str(exc).strip()[:200]}"
        return None

    def env(self, data_dir: Path, host_map: dict[str, str]) -> dict[str, str]:
        env = super().env(data_dir, host_map)
        env.update(
            {
                "HOTLINE_DATABASE_URL": f"postgresql+psycopg://postgres@127.0.0.1/{self.dbname}",
                "HOTLINE_BROKER_URL": REDIS_URL,
                "HOTLINE_RATE_LIMIT_URL": REDIS_URL,
            }
        )
        return env

    def prepare(self, tag: str) -> None:
        self.discard()
        self._redis.flushdb()
        self.dbname = f"hl_bench_capture_{tag}_{os.getpid()}"
        with self._psycopg.connect(PG_ADMIN_DSN, autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{self.dbname}"')

    def discard(self) -> None:
        if self.dbname is not None:
            try:
                with self._psycopg.connect(PG_ADMIN_DSN, autocommit=True) as admin:
                    admin.execute(f'DROP DATABASE IF EXISTS "{self.dbname}" WITH (FORCE)')
            except self._psycopg.Error as exc:
                print(f"warning: could not drop database {self.dbname}: {exc}", file=sys.stderr)
            self.dbname = None
        with contextlib.suppress(Exception):
            self._redis.flushdb()

    def query(self, data_dir: Path, sql: str) -> list[tuple[Any, ...]]:
        dsn = f"host=127.0.0.1 user=postgres dbname={self.dbname}"
        with self._psycopg.connect(dsn, autocommit=True) as conn:
            return list(conn.execute(sql).fetchall())


@dataclass
class EndToEnd:
    backend: str
    concurrency: int
    reports: int
    ready: int
    filing_s: float
    elapsed_s: float
    worker_start_s: float
    warmup_s: float
    outcomes: dict[str, int]
    capture_median_s: float
    capture_p95_s: float
    timed_out: bool
    log_problems: list[str]
    task_s: dict[str, list[float]]
    peak_per_browser: int
    most_browsers: int
    peak_tree: int
    stragglers: int
    load: Load

    @property
    def per_minute(self) -> float:
        return self.ready / self.elapsed_s * 60 if self.elapsed_s else 0.0


TASK_DONE = r"Task hotline\.(\w+)\[[^\]]+\] succeeded in ([0-9.]+)s"


def wait_for_log(path: Path, needle: str, proc: subprocess.Popen, timeout_s: float) -> float:
    start = time.monotonic()
    while time.monotonic() - start < timeout_s:
        if proc.poll() is not None:
            raise RuntimeError(
                f"worker exited early with code {proc.returncode}:\n"
                f"{path.read_text(errors='replace')[-3000:]}"
            )
        if needle in path.read_text(errors="replace"):
            return time.monotonic() - start
        time.sleep(0.2)
    raise RuntimeError(
        f"worker not ready after {timeout_s:.0f} s:\n{path.read_text(errors='replace')[-3000:]}"
    )


def _seconds(value: Any) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))


def run_end_to_end(
    web: SandboxWeb,
    root: Path,
    backend: Backend,
    tag: str,
    concurrency: int,
    reports: int,
    workers: list[subprocess.Popen],
) -> EndToEnd:
    data_dir = root / f"e2e-{tag}-c{concurrency}"
    backend.prepare(f"{tag}{concurrency}")
    try:
        return _end_to_end(web, root, data_dir, backend, tag, concurrency, reports, workers)
    finally:
        backend.discard()


def _end_to_end(
    web: SandboxWeb,
    root: Path,
    data_dir: Path,
    backend: Backend,
    tag: str,
    concurrency: int,
    reports: int,
    workers: list[subprocess.Popen],
) -> EndToEnd:
    env = backend.env(data_dir, web.host_map)
    upgrade = subprocess.run(
        [HOTLINE, "db", "upgrade"], env=env, cwd=root, capture_output=True, text=True, timeout=120
    )
    if upgrade.returncode != 0:
        raise RuntimeError(f"hotline db upgrade failed:\n{upgrade.stderr[-3000:]}")
    log_path = root / f"worker-{tag}-c{concurrency}.log"
    with open(log_path, "wb") as log:
        worker = subprocess.Popen(
            [HOTLINE, "worker", "-Q", "capture,analysis", "-c", str(concurrency), "--no-beat"],
            env=env,
            cwd=root,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    workers.append(worker)
    pages = ok_pages()

    def file(urls: list[str]) -> tuple[float, float, list[int]]:
        filed = subprocess.run(
            [sys.executable, "-c", FILE_HELPER],
            input=json.dumps(urls),
            env=env,
            cwd=root,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if filed.returncode != 0:
            raise RuntimeError(f"filing reports failed:\n{filed.stderr[-3000:]}")
        receipt = json.loads(filed.stdout.strip().splitlines()[-1])
        ids = [int(i) for i in receipt["case_ids"]]
        if len(set(ids)) != len(urls):
            raise RuntimeError(f"expected {len(urls)} distinct cases, got {len(set(ids))}")
        return float(receipt["t0"]), float(receipt["t1"]), ids

    def wait_ready(ids: list[int], limit_s: float) -> tuple[int, float, bool]:
        marks = ",".join(str(i) for i in ids)
        sql = f"SELECT count(*) FROM cases WHERE stage = 'ready' AND id IN ({marks})"
        deadline = time.time() + limit_s
        while True:
            ready = int(backend.query(data_dir, sql)[0][0])
            now = time.time()
            if ready >= len(ids):
                return ready, now, False
            if now > deadline:
                return ready, now, True
            if worker.poll() is not None:
                raise RuntimeError(f"worker exited with code {worker.returncode}")
            time.sleep(0.1)

    def urls(prefix: str, n: int) -> list[str]:
        return [
            f"http://{host}{path}?{prefix}={tag}{concurrency}-{i}"
            for i, (host, path, _page) in enumerate(pages[j % len(pages)] for j in range(n))
        ]

    stragglers = 0
    try:
        worker_start_s = wait_for_log(log_path, " ready.", worker, WORKER_READY_TIMEOUT_S)
        # warm-up: each pool process takes a job and starts its browser; not in the figures
        w0 = time.time()
        _t0, _t1, warm_ids = file(urls("w", 2 * concurrency))
        _ready, w1, warm_timed_out = wait_ready(warm_ids, 180)
        if warm_timed_out:
            raise RuntimeError("warm-up reports did not become ready in 180 s")
        with (
            BrowserSampler(worker.pid, 0.5, whole_tree=True) as sampler,
            measure_load(str(root)) as load,
        ):
            t0, t1, case_ids = file(urls("n", reports))
            ready, now, timed_out = wait_ready(case_ids, 120 + reports * 30)
        elapsed = now - t0
        marks = ",".join(str(i) for i in case_ids)
        outcomes: dict[str, int] = {}
        durations = []
        for outcome, started, finished in backend.query(
            data_dir,
            f"SELECT outcome, started_at, finished_at FROM captures WHERE case_id IN ({marks})",
        ):
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
            with contextlib.suppress(TypeError, ValueError):
                durations.append((_seconds(finished) - _seconds(started)).total_seconds())
        problems = [
            line.strip()
            for line in log_path.read_text(errors="replace").splitlines()
            if any(w in line for w in ("WARNING", "ERROR", "CRITICAL", "Traceback"))
        ]
    finally:
        stragglers = stop_process_group(worker)
    task_s: dict[str, list[float]] = {}
    for match in re.finditer(TASK_DONE, log_path.read_text(errors="replace")):
        task_s.setdefault(match.group(1), []).append(float(match.group(2)))
    return EndToEnd(
        backend.name,
        concurrency,
        reports,
        ready,
        t1 - t0,
        elapsed,
        worker_start_s,
        w1 - w0,
        outcomes,
        median(durations),
        pct(durations, 95),
        timed_out,
        problems,
        task_s,
        sampler.peak_per_browser,
        sampler.most_browsers,
        sampler.peak_tree,
        stragglers,
        load,
    )


def sweep(
    web: SandboxWeb,
    root: Path,
    backend: Backend,
    tag: str,
    levels: list[int],
    reports: int,
    workers: list[subprocess.Popen],
    adaptive: bool,
) -> list[EndToEnd]:
    """Worker concurrency 1, 2, 3, and 4 only if 3 beat 2 by 5 % or more (with `adaptive`)."""
    runs: list[EndToEnd] = []
    for c in levels:
        if (
            adaptive
            and c == 4
            and len(runs) >= 3
            and runs[2].per_minute < runs[1].per_minute * 1.05
        ):
            print(
                f"  [{backend.name}] -c 4 skipped: -c 3 did not beat -c 2 by 5 %",
                file=sys.stderr,
            )
            continue
        run = run_end_to_end(web, root, backend, tag, c, reports, workers)
        print(
            f"  [{backend.name}] -c {c}: {run.per_minute:.1f} captures/min "
            f"({run.ready}/{run.reports} ready in {run.elapsed_s:.1f} s)",
            file=sys.stderr,
        )
        runs.append(run)
    return runs


# --------------------------------------------------------------------------- report


def mib(value: int) -> str:
    return f"{value / MiB:.0f} MiB" if value else "n/a"


def print_in_process(inproc: InProcess, pages: int) -> None:
    print(
        f"  (a) in process, one capture at a time: {inproc.count} captures per method over "
        f"{pages} sandbox pages (after 1 cold capture of {inproc.cold_s:.2f} s)"
    )
    header = f"      {'method':<44} {'median s':>9} {'p95 s':>9} {'mean s':>9} {'/min':>7} {'n':>4}"
    print(header)
    print("      " + "-" * (len(header) - 6))
    rows = [
        inproc.fresh,
        inproc.warm_capture,
        inproc.warm_host,
        inproc.light,
        inproc.plain,
        inproc.plain_images,
    ]
    for series in rows:
        values = series.seconds
        if values:
            mean = statistics.fmean(values)
            print(
                f"      {series.name:<44} {median(values):>9.3f} {pct(values, 95):>9.3f} "
                f"{mean:>9.3f} {60 / mean:>7.1f} {len(values):>4}"
            )
    fresh, warm = median(inproc.fresh.seconds), median(inproc.warm_host.seconds)
    warm_capture = median(inproc.warm_capture.seconds)
    light, plain = median(inproc.light.seconds), median(inproc.plain.seconds)
    print()
    print(f"      browser start, Capture.__aenter__          : {inproc.capture_start_s:8.2f} s")
    print(f"      first CaptureHost capture (with the start) : {inproc.host_first_s:8.2f} s")
    print(f"      median fresh / warm (CaptureHost)          : {fresh / warm:8.2f} x faster warm")
    print(f"      median fresh / warm (Capture reused)       : {fresh / warm_capture:8.2f} x")
    print(f"      median warm capture / plain GET (baseline) : {warm / plain:8.0f} x")
    print(f"      median fresh capture / plain GET           : {fresh / plain:8.0f} x")
    print(f"      median light fetch / plain GET             : {light / plain:8.1f} x")
    print(f"      median warm capture / light fetch          : {warm / light:8.1f} x")
    print(
        f"      launches of the reused Capture             : {inproc.warm_launches:8d} "
        f"(for {inproc.count} captures; recycle_after 50)"
    )
    print(
        f"      peak PSS per browser, warm (Capture.peak_rss watchdog / sampler): "
        f"{mib(inproc.watchdog_peak)} / {mib(inproc.sampler_warm_peak)}"
    )
    print(f"      peak PSS per browser, fresh (sampler)      : {mib(inproc.sampler_fresh_peak)}")
    print(
        f"      images captured / expected                 : "
        f"{inproc.images} / {inproc.expected_images}"
    )
    shots = inproc.screenshot_bytes
    print(f"      median screenshot size                     : {median(shots) / 1024:8.0f} KiB")
    print(f"      failed checks                              : {len(inproc.failures)}")
    for failure in inproc.failures[:10]:
        print(f"        - {failure}")
    for name, load in inproc.loads.items():
        n = inproc.count + (1 if name == "warm CaptureHost" else 0)
        print(f"      load during {name:<17}: {load.describe(n)}")
    print()
    print(
        "      k warm browsers side by side (k CaptureHosts, k threads, "
        f"{inproc.parallel[0].captures // inproc.parallel[0].browsers if inproc.parallel else 0}"
        " captures per browser)"
    )
    header = (
        f"      {'browsers':>8} {'captures':>9} {'wall s':>8} {'captures/min':>13} "
        f"{'median s':>9} {'p95 s':>7} {'CPU s/capture':>13} {'peak PSS/browser':>17}  load"
    )
    print(header)
    print("      " + "-" * (len(header) - 6))
    for run in inproc.parallel:
        print(
            f"      {run.browsers:>8} {run.captures:>9} {run.wall_s:>8.1f} {run.per_minute:>13.1f} "
            f"{median(run.latencies):>9.2f} {pct(run.latencies, 95):>7.2f} "
            f"{run.load.cpu_per(run.captures):>13.2f} "
            f"{mib(max(run.peak_rss, default=0)):>17}  busy {run.load.busy_cores:.2f}, "
            f"other work {run.load.foreign_cores:.2f}"
        )


def print_end_to_end(backend_name: str, runs: list[EndToEnd]) -> None:
    reports = runs[0].reports
    print(
        f"  (b) end to end, {backend_name}: `hotline worker -c N`, {reports} reports of distinct "
        "sandbox URLs after a warm-up, clock from the first filing to the last case 'ready'"
    )
    header = (
        f"      {'worker':<7} {'ready':>6} {'elapsed s':>9} {'captures/min':>12} "
        f"{'capture med/p95 s':>17} {'boot s':>6} {'browsers':>8} {'PSS/browser':>11} "
        f"{'worker tree':>11}  outcomes"
    )
    print(header)
    print("      " + "-" * (len(header) - 6))
    for run in runs:
        flag = " TIMED OUT" if run.timed_out else ""
        print(
            f"      {'-c ' + str(run.concurrency):<7} {f'{run.ready}/{run.reports}':>6} "
            f"{run.elapsed_s:>9.1f} {run.per_minute:>12.1f} "
            f"{f'{run.capture_median_s:.2f} / {run.capture_p95_s:.2f}':>17} "
            f"{run.worker_start_s:>6.1f} {run.most_browsers:>8} {mib(run.peak_per_browser):>11} "
            f"{mib(run.peak_tree):>11}  {run.outcomes}{flag}"
        )
    for run in runs:
        tasks = ", ".join(
            f"{name} {median(v):.2f} s (n={len(v)})" for name, v in sorted(run.task_s.items())
        )
        print(f"      -c {run.concurrency} median task run time: {tasks}")
    for run in runs:
        print(f"      -c {run.concurrency} load: {run.load.describe(run.ready)}")
    for run in runs:
        lines = len(run.log_problems)
        print(
            f"      -c {run.concurrency} worker log: {lines} warning/error line(s); processes "
            f"still alive after the warm shutdown: {run.stragglers}"
        )
        for line in dict.fromkeys(run.log_problems[:5]):
            print(f"        | {line[:160]}")
    best = max(runs, key=lambda r: r.per_minute)
    base = runs[0].per_minute
    print(
        "      scaling vs -c 1: "
        + ", ".join(
            f"-c {r.concurrency} {r.per_minute / base if base else float('nan'):.2f}" for r in runs
        )
    )
    met = "MET" if best.per_minute >= TARGET_PER_MIN else "NOT MET"
    print(
        f"      best: -c {best.concurrency} at {best.per_minute:.1f} captures/min "
        f"(target >= {TARGET_PER_MIN:.0f}/min: {met})"
    )


# --------------------------------------------------------------------------- main


def _levels(text: str) -> list[int]:
    return [int(v) for v in text.split(",") if v.strip()]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer captures, -c 1 and 2 only")
    parser.add_argument(
        "--backends", default="sqlite,postgres", help="comma-separated: sqlite, postgres"
    )
    parser.add_argument(
        "--concurrency",
        type=_levels,
        default=None,
        help="worker concurrency levels, e.g. 1,2,3,4 (default 1,2,3 and 4 if 3 beat 2)",
    )
    args = parser.parse_args()
    count = 6 if args.quick else 20
    parallel_each = 3 if args.quick else 8
    ks = (1, 2) if args.quick else (1, 2, 3, 4)
    reports = 8 if args.quick else 24
    adaptive = args.concurrency is None
    levels = args.concurrency or ([1, 2] if args.quick else [1, 2, 3, 4])
    names = [b.strip() for b in args.backends.split(",") if b.strip()]

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGALRM, _on_signal)
    signal.alarm(TOTAL_TIME_LIMIT_S)
    asyncio_errors = CountingHandler()
    logging.getLogger("asyncio").addHandler(asyncio_errors)
    tmp = Path(tempfile.mkdtemp(prefix="hl_bench_capture_"))
    # everything this run makes in a temp dir (browser HOMEs, Playwright profiles) goes in here
    os.environ["TMPDIR"] = str(tmp)
    tempfile.tempdir = str(tmp)
    workers: list[subprocess.Popen] = []
    backends: list[Backend] = []
    web: SandboxWeb | None = None
    status = 1
    try:
        web = SandboxWeb().start()
        t_start = time.perf_counter()
        load0 = os.getloadavg()
        print("  (a) in process ...", file=sys.stderr)
        inproc = run_in_process(web, tmp, count, parallel_each, ks)
        e2e: list[tuple[str, list[EndToEnd]]] = []
        skipped: list[str] = []
        for name in names:
            backend: Backend
            if name == "sqlite":
                backend = SqliteBackend()
            elif name == "postgres":
                pg = PostgresBackend()
                why = pg.available()
                if why:
                    skipped.append(f"PostgreSQL + Redis skipped: {why}")
                    continue
                backend = pg
            else:
                raise SystemExit(f"unknown backend {name!r}")
            backends.append(backend)
            print(f"  (b) {backend.name} ...", file=sys.stderr)
            runs = sweep(web, tmp, backend, name[:2], levels, reports, workers, adaptive)
            e2e.append((backend.name, runs))
        total_s = time.perf_counter() - t_start

        pages = len(ok_pages())
        print()
        print("Kaznet Hotline Triage — capture speed on the sandbox web")
        print(
            f"  mode: {'quick' if args.quick else 'full'}; {os.cpu_count()} cores; {pages} "
            f"sandbox pages that answer 200; total run {total_s:.0f} s; load average "
            f"{load0[0]:.1f} at the start, {os.getloadavg()[0]:.1f} at the end"
        )
        print()
        print_in_process(inproc, pages)
        for name, runs in e2e:
            print()
            print_end_to_end(name, runs)
        for line in skipped:
            print(f"\n  (b) {line}")

        print()
        print("  summary")
        warm = inproc.warm_host.seconds
        print(
            f"    seconds per capture, warm browser (CaptureHost), one at a time: median "
            f"{median(warm):.2f}, p95 {pct(warm, 95):.2f}  (fresh browser: median "
            f"{median(inproc.fresh.seconds):.2f}, p95 {pct(inproc.fresh.seconds, 95):.2f})"
        )
        if inproc.parallel:
            best_k = max(inproc.parallel, key=lambda r: r.per_minute)
            print(
                f"    captures/min in process: best with {best_k.browsers} browser(s), "
                f"{best_k.per_minute:.1f}/min"
            )
        for name, runs in e2e:
            best = max(runs, key=lambda r: r.per_minute)
            met = "MET" if best.per_minute >= TARGET_PER_MIN else "NOT MET"
            print(
                f"    captures/min end to end, {name}: best with -c {best.concurrency} "
                f"({best.concurrency} browser(s)), {best.per_minute:.1f}/min — target "
                f">= {TARGET_PER_MIN:.0f}/min {met}"
            )
        peaks = [inproc.watchdog_peak, inproc.sampler_warm_peak, inproc.sampler_fresh_peak]
        peaks += [max(r.peak_rss, default=0) for r in inproc.parallel]
        peaks += [r.peak_per_browser for _name, runs in e2e for r in runs]
        print(f"    peak memory per browser (PSS of its processes), whole run: {mib(max(peaks))}")
        print(
            f"    asyncio errors logged in this process (e.g. 'Exception in callback'): "
            f"{asyncio_errors.count}"
            + (f" — first: {asyncio_errors.first}" if asyncio_errors.first else "")
        )
        all_ok = (
            not inproc.failures
            and all(not r.timed_out and r.ready == r.reports for _n, runs in e2e for r in runs)
            and all(set(r.outcomes) == {"ok"} for _n, runs in e2e for r in runs)
        )
        print(f"    all captures ok and all cases ready: {'YES' if all_ok else 'NO'}")
        status = 0 if all_ok else 1
    except (Abort, KeyboardInterrupt) as exc:
        print(f"\ninterrupted: {str(exc) or 'Ctrl-C'}; cleaning up", file=sys.stderr)
        status = 130
    except Exception as exc:
        print(f"\nbenchmark failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        for log in sorted(tmp.glob("worker-*.log")):
            print(f"--- last lines of {log.name} ---", file=sys.stderr)
            print(log.read_text(errors="replace")[-3000:], file=sys.stderr)
        status = 1
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.alarm(0)
        for worker in workers:
            stop_process_group(worker, grace_s=5)
        with contextlib.suppress(Exception):
            close_hosts()
        kill_pids(descendants(os.getpid()))  # a browser left by an interrupted in-process capture
        for backend in backends:
            backend.discard()
        if web is not None:
            web.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
