"""Capture speed on the sandbox web: in-process captures, then end to end through Celery workers.

Run:  python benchmarks/bench_capture.py [--quick]

(a) In process: `triage_api.pipeline.take_capture` (a fresh headless Chromium per capture, as the
    worker does) on the sandbox pages, with the host map of a running `SandboxWeb` and
    host_map_only=True. Baseline in the same run: a plain `httpx.get` of the same pages. A small
    breakdown (browser start/stop vs. the visit itself) uses `crawler.capture.Capture` directly.
(b) End to end: SQLite and the embedded filesystem broker in a temp HOTLINE_DATA_DIR, a real
    `hotline worker -c 1`, then `-c 2`; N reports of distinct sandbox URLs (the sandbox ignores
    query strings, so `http://zhasyl-bazar.kz/?n=3` is the same page under a new case) are filed
    with `triage_api.intake.file_report` + `triage_api.tasks.enqueue`, and the clock runs from the
    first filing until every case reaches stage "ready".

Everything stays on loopback, is bounded in count and time, and is cleaned up (worker process
groups, leftover browsers, temp dirs) also on error, Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import http.client
import json
import os
import re
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from crawler import sandbox_sites
from crawler.capture import Capture, CaptureLimits
from crawler.sandbox import SandboxWeb
from triage_api.config import Settings
from triage_api.pipeline import take_capture

HOTLINE = str(Path(sys.executable).with_name("hotline"))
TOTAL_TIME_LIMIT_S = 25 * 60
WORKER_READY_TIMEOUT_S = 90.0
TASK_DONE = re.compile(r"Task hotline\.(\w+)\[[^\]]+\] succeeded in ([0-9.]+)s")
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


def kill_pids(pids: list[int]) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)


def stop_process_group(proc: subprocess.Popen, grace_s: float = 15.0) -> None:
    """SIGTERM the group of `proc` (started with start_new_session), SIGKILL what remains, and
    kill by PID any descendant that had left the group (Playwright starts Chromium detached)."""
    family = descendants(proc.pid)
    if proc.poll() is None:
        # the Celery main process first (a warm shutdown that stops its pool), then the group
        with contextlib.suppress(ProcessLookupError):
            os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(grace_s)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(5)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(5)
    kill_pids(family)


def clean_env(data_dir: Path, host_map: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOTLINE_")}
    env.update(
        {
            "HOTLINE_DATA_DIR": str(data_dir),
            "HOTLINE_HOST_MAP": json.dumps(host_map),
            "HOTLINE_HOST_MAP_ONLY": "true",
        }
    )
    return env


# --------------------------------------------------------------------------- figures


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    data = sorted(values)
    k = max(0, min(len(data) - 1, round(p / 100 * len(data) + 0.5) - 1))
    return data[k]


def ok_pages() -> list[tuple[str, str, sandbox_sites.Page]]:
    """(host, path, page) of every sandbox page that answers 200 without a redirect."""
    return [
        (site.host, path, page)
        for site in sandbox_sites.SITES
        for path, page in site.pages.items()
        if page.status == 200 and not page.redirect
    ]


@dataclass
class InProcess:
    cold_s: float
    capture_s: list[float]
    plain_s: list[float]
    plain_images_s: list[float]
    reused_s: list[float]
    raw_s: list[float]
    launch_s: list[float]
    visit_s: list[float]
    close_s: list[float]
    failures: list[str]
    images: int
    expected_images: int
    screenshot_bytes: list[int]


def run_in_process(web: SandboxWeb, tmp: Path, count: int, breakdown: int) -> InProcess:
    settings = Settings(data_dir=tmp / "inproc", host_map=web.host_map, host_map_only=True)
    pages = ok_pages()
    urls = [(f"http://{host}{path}", host, path, page) for host, path, page in pages]
    failures: list[str] = []

    def check(result, url: str, page: sandbox_sites.Page) -> int:
        problems = []
        if result.outcome != "ok" or result.http_status != 200:
            problems.append(f"outcome={result.outcome} status={result.http_status} {result.error}")
        if not result.screenshot:
            problems.append("no screenshot")
        if len(result.images) != len(page.images):
            problems.append(f"{len(result.images)}/{len(page.images)} images")
        if problems:
            failures.append(f"{url}: {'; '.join(problems)}")
        return len(result.images)

    # a cold first capture (disk cache, first Chromium start), not in the figures
    start = time.perf_counter()
    check(take_capture(urls[0][0], settings), urls[0][0], urls[0][3])
    cold_s = time.perf_counter() - start

    capture_s, shots, images, expected = [], [], 0, 0
    for i in range(count):
        url, _host, _path, page = urls[i % len(urls)]
        start = time.perf_counter()
        result = take_capture(url, settings)
        capture_s.append(time.perf_counter() - start)
        images += check(result, url, page)
        expected += len(page.images)
        shots.append(len(result.screenshot or b""))

    # baselines: a plain GET of the same pages (a fresh client each, like a fresh browser), and
    # a plain GET of the page plus its images
    plain_s, plain_images_s = [], []
    base = f"http://127.0.0.1:{web.port}"
    for i in range(count):
        _url, host, path, page = urls[i % len(urls)]
        start = time.perf_counter()
        answer = httpx.get(f"{base}{path}", headers={"Host": host}, timeout=30)
        plain_s.append(time.perf_counter() - start)
        if answer.status_code != 200:
            failures.append(f"plain GET {host}{path}: {answer.status_code}")
        start = time.perf_counter()
        with httpx.Client(base_url=base, headers={"Host": host}, timeout=30) as client:
            client.get(path).raise_for_status()
            for name in page.images:
                client.get(f"/img/{name}").raise_for_status()
        plain_images_s.append(time.perf_counter() - start)

    # for scale: the same GET over one reused client (no client set-up per request)
    reused_s = []
    with httpx.Client(base_url=base, timeout=30) as client:
        for i in range(count):
            _url, host, path, page = urls[i % len(urls)]
            start = time.perf_counter()
            client.get(path, headers={"Host": host}).raise_for_status()
            reused_s.append(time.perf_counter() - start)

    # and the floor: http.client on a fresh connection (no client library set-up)
    raw_s = []
    for i in range(count):
        _url, host, path, page = urls[i % len(urls)]
        start = time.perf_counter()
        conn = http.client.HTTPConnection("127.0.0.1", web.port, timeout=30)
        try:
            conn.request("GET", path, headers={"Host": host})
            answer_raw = conn.getresponse()
            answer_raw.read()
        finally:
            conn.close()
        raw_s.append(time.perf_counter() - start)

    # breakdown: browser start, the visit itself, browser stop
    launch_s, visit_s, close_s = [], [], []
    limits = CaptureLimits(timeout_s=settings.capture_timeout_s)

    async def one(url: str) -> None:
        capture = Capture(
            limits=limits,
            chromium_path=settings.chromium_path,
            host_map=settings.host_map,
            host_map_only=True,
        )
        t0 = time.perf_counter()
        await capture.__aenter__()
        t1 = time.perf_counter()
        try:
            await capture.run(url)
            t2 = time.perf_counter()
        finally:
            await capture.__aexit__(None, None, None)
        t3 = time.perf_counter()
        launch_s.append(t1 - t0)
        visit_s.append(t2 - t1)
        close_s.append(t3 - t2)

    for i in range(breakdown):
        asyncio.run(one(urls[i % len(urls)][0]))

    return InProcess(
        cold_s,
        capture_s,
        plain_s,
        plain_images_s,
        reused_s,
        raw_s,
        launch_s,
        visit_s,
        close_s,
        failures,
        images,
        expected,
        shots,
    )


@dataclass
class EndToEnd:
    concurrency: int
    reports: int
    ready: int
    filing_s: float
    elapsed_s: float
    worker_start_s: float
    outcomes: dict[str, int]
    capture_median_s: float
    timed_out: bool
    log_problems: list[str]
    task_s: dict[str, list[float]]

    @property
    def per_minute(self) -> float:
        return self.ready / self.elapsed_s * 60 if self.elapsed_s else 0.0


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


def run_end_to_end(
    web: SandboxWeb, root: Path, concurrency: int, reports: int, workers: list[subprocess.Popen]
) -> EndToEnd:
    data_dir = root / f"e2e-c{concurrency}"
    env = clean_env(data_dir, web.host_map)
    upgrade = subprocess.run(
        [HOTLINE, "db", "upgrade"], env=env, cwd=root, capture_output=True, text=True, timeout=120
    )
    if upgrade.returncode != 0:
        raise RuntimeError(f"hotline db upgrade failed:\n{upgrade.stderr[-3000:]}")
    log_path = root / f"worker-c{concurrency}.log"
    with open(log_path, "wb") as log:
        worker = subprocess.Popen(
            [
                HOTLINE,
                "worker",
                "-Q",
                "capture,analysis",
                "-c",
                str(concurrency),
                "--no-beat",
                "--loglevel",
                "INFO",
            ],
            env=env,
            cwd=root,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    workers.append(worker)
    try:
        worker_start_s = wait_for_log(log_path, " ready.", worker, WORKER_READY_TIMEOUT_S)
        pages = ok_pages()
        urls = [
            f"http://{host}{path}?n={concurrency}-{i}"
            for i, (host, path, _page) in enumerate(pages[j % len(pages)] for j in range(reports))
        ]
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
        t0, case_ids = float(receipt["t0"]), list(receipt["case_ids"])
        if len(set(case_ids)) != reports:
            raise RuntimeError(f"expected {reports} distinct cases, got {len(set(case_ids))}")
        deadline = time.time() + 120 + reports * 30
        db = sqlite3.connect(data_dir / "hotline.sqlite", timeout=30)
        try:
            marks = ",".join("?" * len(case_ids))
            ready, timed_out = 0, False
            while True:
                ready = db.execute(
                    f"SELECT count(*) FROM cases WHERE stage = 'ready' AND id IN ({marks})",
                    case_ids,
                ).fetchone()[0]
                now = time.time()
                if ready >= reports:
                    break
                if now > deadline:
                    timed_out = True
                    break
                if worker.poll() is not None:
                    raise RuntimeError(f"worker exited with code {worker.returncode}")
                time.sleep(0.1)
            elapsed = now - t0
            outcomes: dict[str, int] = {}
            durations = []
            for outcome, started, finished in db.execute(
                f"SELECT outcome, started_at, finished_at FROM captures WHERE case_id IN ({marks})",
                case_ids,
            ):
                outcomes[outcome] = outcomes.get(outcome, 0) + 1
                with contextlib.suppress(TypeError, ValueError):
                    durations.append(_seconds_between(started, finished))
        finally:
            db.close()
        problems = [
            line.strip()
            for line in log_path.read_text(errors="replace").splitlines()
            if any(w in line for w in ("WARNING", "ERROR", "CRITICAL", "Traceback"))
        ]
    finally:
        stop_process_group(worker)
    task_s: dict[str, list[float]] = {}
    for match in TASK_DONE.finditer(log_path.read_text(errors="replace")):
        task_s.setdefault(match.group(1), []).append(float(match.group(2)))
    return EndToEnd(
        concurrency,
        reports,
        ready,
        float(receipt["t1"]) - t0,
        elapsed,
        worker_start_s,
        outcomes,
        statistics.median(durations) if durations else float("nan"),
        timed_out,
        problems,
        task_s,
    )


def _seconds_between(started: str, finished: str) -> float:
    from datetime import datetime

    return (
        datetime.fromisoformat(str(finished)) - datetime.fromisoformat(str(started))
    ).total_seconds()


# --------------------------------------------------------------------------- main


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer captures")
    args = parser.parse_args()
    count = 8 if args.quick else 20
    breakdown = 3 if args.quick else 5
    reports = 6 if args.quick else 20

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGALRM, _on_signal)
    signal.alarm(TOTAL_TIME_LIMIT_S)
    tmp = Path(tempfile.mkdtemp(prefix="hl_bench_capture_"))
    workers: list[subprocess.Popen] = []
    web: SandboxWeb | None = None
    status = 1
    try:
        web = SandboxWeb().start()
        t_start = time.perf_counter()
        inproc = run_in_process(web, tmp, count, breakdown)
        e2e = [run_end_to_end(web, tmp, c, reports, workers) for c in (1, 2)]
        total_s = time.perf_counter() - t_start

        med = statistics.median(inproc.capture_s)
        per_minute = 60 / statistics.fmean(inproc.capture_s)
        plain_med = statistics.median(inproc.plain_s)
        plain_img_med = statistics.median(inproc.plain_images_s)
        print()
        print("Kaznet Hotline Triage — capture speed on the sandbox web")
        print(
            f"  mode: {'quick' if args.quick else 'full'}; {os.cpu_count()} cores; "
            f"{len(ok_pages())} sandbox pages that answer 200; a fresh Chromium per capture; "
            f"total run {total_s:.0f} s"
        )
        print()
        print(f"  (a) in process, {count} captures (after 1 cold capture of {inproc.cold_s:.2f} s)")
        header = f"      {'method':<44} {'median s':>9} {'p95 s':>9} {'mean s':>9} {'n':>4}"
        print(header)
        print("      " + "-" * (len(header) - 6))
        rows = [
            ("take_capture (Chromium, screenshot, images)", inproc.capture_s),
            ("plain httpx.get of the page (baseline)", inproc.plain_s),
            ("plain httpx: page + its images", inproc.plain_images_s),
            ("plain GET on one reused httpx.Client", inproc.reused_s),
            ("plain GET, http.client, fresh connection", inproc.raw_s),
            ("  breakdown: Chromium start", inproc.launch_s),
            ("  breakdown: the visit itself", inproc.visit_s),
            ("  breakdown: Chromium stop", inproc.close_s),
        ]
        for name, values in rows:
            if values:
                print(
                    f"      {name:<44} {statistics.median(values):>9.3f} {pct(values, 95):>9.3f} "
                    f"{statistics.fmean(values):>9.3f} {len(values):>4}"
                )
        print()
        print(f"      median browser capture / plain GET     : {med / plain_med:8.0f} x")
        print(f"      median browser capture / page + images : {med / plain_img_med:8.0f} x")
        print(f"      captures per minute, one at a time     : {per_minute:8.1f}")
        images = f"{inproc.images} / {inproc.expected_images}"
        print(f"      images captured / expected             : {images}")
        print(
            f"      median screenshot size                 : "
            f"{statistics.median(inproc.screenshot_bytes) / 1024:8.0f} KiB"
        )
        print(f"      failed checks                          : {len(inproc.failures)}")
        for failure in inproc.failures[:10]:
            print(f"        - {failure}")
        print()
        print(
            f"  (b) end to end: SQLite + embedded broker, `hotline worker -c N`, {reports} reports "
            f"of distinct sandbox URLs, clock from the first filing to the last case 'ready'"
        )
        header = (
            f"      {'worker':<12} {'ready':>7} {'elapsed s':>10} {'captures/min':>13} "
            f"{'capture median s':>17} {'filing s':>9} {'worker boot s':>14}  outcomes"
        )
        print(header)
        print("      " + "-" * (len(header) - 6))
        for run in e2e:
            flag = " TIMED OUT" if run.timed_out else ""
            print(
                f"      {'-c ' + str(run.concurrency):<12} {f'{run.ready}/{run.reports}':>7} "
                f"{run.elapsed_s:>10.1f} {run.per_minute:>13.1f} {run.capture_median_s:>17.2f} "
                f"{run.filing_s:>9.2f} {run.worker_start_s:>14.1f}  {run.outcomes}{flag}"
            )
        for run in e2e:
            tasks = ", ".join(
                f"{name} {statistics.median(v):.2f} s (n={len(v)})"
                for name, v in sorted(run.task_s.items())
            )
            print(f"      worker -c {run.concurrency} median task run time: {tasks}")
        for run in e2e:
            lines = len(run.log_problems)
            print(
                f"      worker -c {run.concurrency} log: {lines} warning/error line(s) in the run"
            )
            for line in dict.fromkeys(run.log_problems[:5]):
                print(f"        | {line[:160]}")
        scaling = e2e[1].per_minute / e2e[0].per_minute if e2e[0].per_minute else float("nan")
        print()
        print(f"      captures per minute, 1 worker process : {e2e[0].per_minute:8.1f}")
        print(f"      captures per minute, 2 worker processes: {e2e[1].per_minute:8.1f}")
        print(
            f"      scaling ratio (-c 2 / -c 1)           : {scaling:8.2f}  (ideal 2.00 on 2 cores)"
        )
        print(
            f"      end-to-end -c 1 vs in-process capture : "
            f"{e2e[0].elapsed_s / e2e[0].reports / statistics.fmean(inproc.capture_s):8.2f} x "
            f"the mean in-process capture time per case"
        )
        all_ok = (
            not inproc.failures
            and all(not r.timed_out and r.ready == r.reports for r in e2e)
            and all(set(r.outcomes) == {"ok"} for r in e2e)
        )
        print(f"      all captures ok and all cases ready   : {'YES' if all_ok else 'NO'}")
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
            stop_process_group(worker)
        kill_pids(descendants(os.getpid()))  # a browser left by an interrupted in-process capture
        if web is not None:
            web.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
