"""Intake throughput through the real HTTP API, against PostgreSQL and a Redis broker.

Run:  python benchmarks/bench_intake.py [--quick]

What it does, all on loopback and bounded in count and time:
  1. creates a fresh PostgreSQL database `hl_bench_<random>` and runs `hotline db upgrade`;
  2. starts `hotline serve --workers 2` (Redis broker and Redis rate limiter on db 12, the
     report rate limit raised out of the way);
  3. drives GET /api/v1/healthz (the baseline: framework + one DB round trip) and then
     POST /api/v1/reports with distinct URLs, from N concurrent keep-alive connections;
  4. prints reports/s, p50/p95/p99 latency, errors and the intake/healthz ratio;
  5. checks that every 201 is a row in `reports` (and a capture job in Redis);
  6. stops the server (its whole process group), drops the database, flushes Redis db 12 and
     removes its temp dir, also on error, Ctrl-C or SIGTERM.

The load generator is a small raw-socket HTTP/1.1 client (asyncio), not httpx, so that on a
2-core machine the client takes as little CPU away from the server as it can; its CPU use is
printed so the figures can be read with that in mind.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import resource
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import redis

REPO = Path(__file__).resolve().parent.parent
HOTLINE = str(Path(sys.executable).with_name("hotline"))
PG_ADMIN_DSN = "host=127.0.0.1 port=5432 user=postgres dbname=test"
REDIS_URL = "redis://127.0.0.1:6379/12"
TARGET = ">= 300/s on 2 cores"
TOTAL_TIME_LIMIT_S = 15 * 60  # the whole run, whatever happens
REQUEST_TIMEOUT_S = 30.0
PHASE_TIME_LIMIT_S = 240.0


class Abort(KeyboardInterrupt):
    """Raised from signal handlers so that `finally` blocks clean up."""


def _on_signal(signum: int, _frame: object) -> None:
    raise Abort(f"stopped by signal {signal.Signals(signum).name}")


# --------------------------------------------------------------------------- load generator


@dataclass
class PhaseResult:
    name: str
    sent: int = 0
    ok: int = 0
    errors: int = 0
    statuses: dict[str, int] = field(default_factory=dict)
    latencies_ms: list[float] = field(default_factory=list)
    wall_s: float = 0.0
    client_cpu_s: float = 0.0
    bodies: list[bytes] = field(default_factory=list)
    cpu: dict[str, float] = field(default_factory=dict)
    new_db_sessions: int = -1

    @property
    def rate(self) -> float:
        return self.ok / self.wall_s if self.wall_s else 0.0

    def pct(self, p: float) -> float:
        if not self.latencies_ms:
            return float("nan")
        data = sorted(self.latencies_ms)
        k = max(0, min(len(data) - 1, round(p / 100 * len(data) + 0.5) - 1))
        return data[k]


class Connection:
    """One keep-alive HTTP/1.1 connection; reopens itself after an error or `Connection: close`."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(Exception):
                await self.writer.wait_closed()
        self.reader = self.writer = None

    async def request(self, raw: bytes) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        self.writer.write(raw)
        await self.writer.drain()
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        headers = {}
        for line in lines[1:]:
            if ":" in line:
                name, value = line.split(":", 1)
                headers[name.strip().lower()] = value.strip()
        if headers.get("transfer-encoding", "").lower() == "chunked":
            body = b""
            while True:
                size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
                chunk = await self.reader.readexactly(size + 2)
                if size == 0:
                    break
                body += chunk[:-2]
        else:
            body = await self.reader.readexactly(int(headers.get("content-length", "0")))
        if headers.get("connection", "").lower() == "close":
            await self.close()
        return status, body


async def run_phase(
    name: str,
    port: int,
    total: int,
    concurrency: int,
    make_request,
    expect: int,
    keep_bodies: bool = False,
    server_pid: int | None = None,
    dbname: str | None = None,
) -> PhaseResult:
    """Send `total` requests from `concurrency` connections as fast as the server answers."""
    result = PhaseResult(name)
    counter = iter(range(total))
    deadline = time.monotonic() + PHASE_TIME_LIMIT_S

    async def client() -> None:
        conn = Connection("127.0.0.1", port)
        try:
            for n in counter:
                if time.monotonic() > deadline:
                    break
                raw = make_request(n)
                result.sent += 1
                start = time.perf_counter()
                try:
                    status, body = await asyncio.wait_for(conn.request(raw), REQUEST_TIMEOUT_S)
                except (
                    OSError,
                    asyncio.IncompleteReadError,
                    asyncio.LimitOverrunError,
                    TimeoutError,
                    ValueError,
                    IndexError,
                ) as exc:
                    key = type(exc).__name__
                    result.statuses[key] = result.statuses.get(key, 0) + 1
                    result.errors += 1
                    await conn.close()
                    continue
                elapsed_ms = (time.perf_counter() - start) * 1000
                result.statuses[str(status)] = result.statuses.get(str(status), 0) + 1
                if status == expect:
                    result.ok += 1
                    result.latencies_ms.append(elapsed_ms)
                    if keep_bodies:
                        result.bodies.append(body)
                else:
                    result.errors += 1
        finally:
            await conn.close()

    snap0 = cpu_snapshot(server_pid) if server_pid else {}
    sessions0 = pg_sessions(dbname) if dbname else -1
    cpu0 = _cpu_s()
    t0 = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(concurrency)))
    result.wall_s = time.perf_counter() - t0
    result.client_cpu_s = _cpu_s() - cpu0
    if server_pid:
        result.cpu = cpu_delta(snap0, cpu_snapshot(server_pid))
    result.cpu["client"] = result.client_cpu_s
    if dbname and sessions0 >= 0:
        result.new_db_sessions = pg_sessions(dbname) - sessions0
    return result


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def healthz_request(port: int):
    raw = f"GET /api/v1/healthz HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAccept: */*\r\n\r\n".encode()
    return lambda _n: raw


def report_request(port: int, run_tag: str):
    categories = ("drugs", "fraud", "gambling", None)

    def make(n: int) -> bytes:
        payload: dict[str, object] = {"url": f"http://site-{run_tag}-{n}.kz/page"}
        category = categories[n % len(categories)]
        if category:
            payload["category"] = category
        body = json.dumps(payload).encode()
        return (
            f"POST /api/v1/reports HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode() + body

    return make


# --------------------------------------------------------------------------- environment


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def descendants(pid: int) -> list[int]:
    """Every live descendant of `pid`, read from /proc (so stragglers can be killed by PID)."""
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


def stop_process_group(proc: subprocess.Popen, grace_s: float = 10.0) -> None:
    """SIGTERM the process group of `proc` (started with start_new_session), then SIGKILL."""
    if proc.poll() is not None and not descendants(proc.pid):
        return
    family = descendants(proc.pid)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(grace_s)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(5)
    time.sleep(0.2)
    for pid in family:  # anything that left the group (e.g. setsid) but is still ours
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)


def wait_healthy(port: int, proc: subprocess.Popen, timeout_s: float = 60.0) -> float:
    start = time.monotonic()
    raw = healthz_request(port)(0)
    while time.monotonic() - start < timeout_s:
        if proc.poll() is not None:
            raise RuntimeError(f"hotline serve exited early with code {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
                sock.sendall(raw.replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n"))
                sock.settimeout(5)
                data = b""
                while chunk := sock.recv(65536):
                    data += chunk
            if data.startswith(b"HTTP/1.1 200"):
                return time.monotonic() - start
        except OSError:
            pass
        time.sleep(0.25)
    raise RuntimeError(f"server on port {port} not healthy after {timeout_s:.0f} s")


def count_server_processes(proc: subprocess.Popen) -> int:
    return 1 + len(descendants(proc.pid))


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_snapshot(server_pid: int) -> dict[int, tuple[str, float]]:
    """pid -> (group, CPU seconds so far) for the API server, PostgreSQL and Redis processes."""
    server = {server_pid, *descendants(server_pid)}
    snap: dict[int, tuple[str, float]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                stat = f.read().decode("latin-1")
        except OSError:
            continue
        comm = stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2 :].split()
        cpu = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
        pid = int(entry)
        if pid in server:
            snap[pid] = ("api server", cpu)
        elif comm.startswith("postgres"):
            snap[pid] = ("postgres", cpu)
        elif comm.startswith("redis-server"):
            snap[pid] = ("redis", cpu)
    return snap


def cpu_delta(
    before: dict[int, tuple[str, float]], after: dict[int, tuple[str, float]]
) -> dict[str, float]:
    """CPU used between two snapshots by group; processes that exited in between are not counted
    (PostgreSQL backends of closed connections), so the figures are lower bounds."""
    totals = {"api server": 0.0, "postgres": 0.0, "redis": 0.0}
    for pid, (group, cpu) in after.items():
        old = before.get(pid)
        totals[group] += cpu - (old[1] if old and old[0] == group else 0.0)
    return totals


def pg_sessions(dbname: str) -> int:
    """Connections ever opened to the database (pg_stat_database.sessions, PostgreSQL 14+)."""
    try:
        with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as admin:
            row = admin.execute(
                "SELECT sessions FROM pg_stat_database WHERE datname = %s", (dbname,)
            ).fetchone()
        return int(row[0]) if row and row[0] is not None else -1
    except psycopg.Error:
        return -1


# --------------------------------------------------------------------------- main


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a short run (~600 reports)")
    parser.add_argument("--workers", type=int, default=2, help="uvicorn worker processes")
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()
    total = 600 if args.quick else 3000
    warmup = 100 if args.quick else 200

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGALRM, _on_signal)
    signal.alarm(TOTAL_TIME_LIMIT_S)

    dbname = f"hl_bench_{secrets.token_hex(4)}"
    tmp = Path(tempfile.mkdtemp(prefix="hl_bench_intake_"))
    rds = redis.Redis.from_url(REDIS_URL)
    server: subprocess.Popen | None = None
    db_created = False
    log_path = tmp / "serve.log"
    status = 1
    try:
        rds.flushdb()
        with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{dbname}"')
        db_created = True
        env = {k: v for k, v in os.environ.items() if not k.startswith("HOTLINE_")}
        env.update(
            {
                "HOTLINE_DATA_DIR": str(tmp / "data"),
                "HOTLINE_DATABASE_URL": f"postgresql+psycopg://postgres@127.0.0.1/{dbname}",
                "HOTLINE_BROKER_URL": REDIS_URL,
                "HOTLINE_RATE_LIMIT_URL": REDIS_URL,
                "HOTLINE_REPORT_RATE_LIMIT": "100000000",
            }
        )
        upgrade = subprocess.run(
            [HOTLINE, "db", "upgrade"],
            env=env,
            cwd=tmp,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if upgrade.returncode != 0:
            raise RuntimeError(f"hotline db upgrade failed:\n{upgrade.stderr[-3000:]}")

        port = free_port()
        with open(log_path, "wb") as log:
            server = subprocess.Popen(
                [HOTLINE, "serve", "--port", str(port), "--workers", str(args.workers)],
                env=env,
                cwd=tmp,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        startup_s = wait_healthy(port, server)
        time.sleep(1.0)  # let every worker process finish booting
        wait_healthy(port, server)
        processes = count_server_processes(server)

        run_tag = secrets.token_hex(3)

        async def drive() -> tuple[PhaseResult, PhaseResult, PhaseResult]:
            c = args.concurrency
            # warm-up: connection pools, imports, Celery producer, rate-limit client
            await run_phase("warm-up healthz", port, warmup, c, healthz_request(port), 200)
            await run_phase(
                "warm-up reports", port, warmup, c, report_request(port, run_tag + "w"), 201
            )
            pid = server.pid
            health = await run_phase(
                "GET /api/v1/healthz",
                port,
                total,
                c,
                healthz_request(port),
                200,
                server_pid=pid,
                dbname=dbname,
            )
            intake = await run_phase(
                "POST /api/v1/reports",
                port,
                total,
                c,
                report_request(port, run_tag),
                201,
                keep_bodies=True,
                server_pid=pid,
                dbname=dbname,
            )
            health2 = await run_phase(
                "GET /api/v1/healthz (again)",
                port,
                total,
                c,
                healthz_request(port),
                200,
                server_pid=pid,
                dbname=dbname,
            )
            return health, intake, health2

        health, intake, health2 = asyncio.run(drive())

        # ------------------------------------------------------------ verification
        codes = set()
        bad_bodies = 0
        for body in intake.bodies:
            try:
                codes.add(json.loads(body)["tracking_code"])
            except (ValueError, KeyError):
                bad_bodies += 1
        with psycopg.connect(f"host=127.0.0.1 user=postgres dbname={dbname}") as conn:
            rows = conn.execute(
                "SELECT count(*) FROM reports WHERE submitted_url LIKE %s",
                (f"http://site-{run_tag}-%",),
            ).fetchone()[0]
            all_reports = conn.execute("SELECT count(*) FROM reports").fetchone()[0]
            all_cases = conn.execute("SELECT count(*) FROM cases").fetchone()[0]
            found = conn.execute(
                "SELECT count(*) FROM reports WHERE tracking_code = ANY(%s)", (list(codes),)
            ).fetchone()[0]
        queued = rds.llen("capture")
        warm_ok = warmup  # warm-up reports that were accepted are also in the table
        ratio = intake.rate / health.rate if health.rate else float("nan")

        # ------------------------------------------------------------ report
        print()
        print("Kaznet Hotline Triage — intake throughput (HTTP API, PostgreSQL, Redis broker)")
        print(
            f"  mode: {'quick' if args.quick else 'full'}; server: hotline serve --workers "
            f"{args.workers} ({processes} processes, healthy after {startup_s:.1f} s); "
            f"{args.concurrency} concurrent keep-alive connections; {total} requests per phase; "
            f"{os.cpu_count()} cores shared by server, client, PostgreSQL and Redis"
        )
        print()
        header = (
            f"  {'phase':<28} {'ok':>6} {'errors':>6} {'req/s':>8} {'p50 ms':>8} "
            f"{'p95 ms':>8} {'p99 ms':>8} {'wall s':>7} {'client CPU':>10}"
        )
        print(header)
        print("  " + "-" * (len(header) - 2))
        for r in (health, intake, health2):
            print(
                f"  {r.name:<28} {r.ok:>6} {r.errors:>6} {r.rate:>8.1f} {r.pct(50):>8.1f} "
                f"{r.pct(95):>8.1f} {r.pct(99):>8.1f} {r.wall_s:>7.2f} "
                f"{r.client_cpu_s / r.wall_s * 100 if r.wall_s else 0:>9.0f}%"
            )
        print()
        print(
            "  CPU per OK request by process group, in ms (lower bounds: exited PostgreSQL "
            "backends are not counted); cores busy = all CPU / wall time, of 2"
        )
        groups = ("api server", "postgres", "redis", "client")
        print(
            f"  {'phase':<28} "
            + " ".join(f"{g:>10}" for g in groups)
            + f" {'cores busy':>10} {'new PG conns':>12}"
        )
        for r in (health, intake, health2):
            per = [r.cpu.get(g, 0.0) / r.ok * 1000 if r.ok else 0.0 for g in groups]
            busy = sum(r.cpu.values()) / r.wall_s if r.wall_s else 0.0
            print(
                f"  {r.name:<28} "
                + " ".join(f"{v:>10.2f}" for v in per)
                + f" {busy:>10.2f} {r.new_db_sessions:>12}"
            )
        print()
        print(
            f"  reports accepted per second : {intake.rate:8.1f} /s   (target {TARGET}: "
            f"{'MET' if intake.rate >= 300 else 'NOT MET'})"
        )
        print(
            f"  intake latency p50/p95/p99  : {intake.pct(50):.1f} / {intake.pct(95):.1f} / "
            f"{intake.pct(99):.1f} ms"
        )
        print(
            f"  intake errors               : {intake.errors}   (status counts: "
            f"{dict(sorted(intake.statuses.items()))})"
        )
        print(
            f"  healthz baseline            : {health.rate:8.1f} /s (first), "
            f"{health2.rate:.1f} /s (after intake)"
        )
        print(f"  intake/healthz throughput ratio: {ratio:.2f}")
        print(
            f"  mean intake latency / mean healthz latency: "
            f"{statistics.fmean(intake.latencies_ms) / statistics.fmean(health.latencies_ms):.2f}"
            if intake.latencies_ms and health.latencies_ms
            else ""
        )
        print()
        print("  verification")
        print(f"    201 responses (measured phase)          : {intake.ok}")
        print(
            f"    distinct tracking codes in the responses: {len(codes)}"
            + (f" ({bad_bodies} unparsable bodies)" if bad_bodies else "")
        )
        print(f"    rows in `reports` for these URLs        : {rows}")
        print(f"    tracking codes found in `reports`       : {found}")
        print(
            f"    all reports / cases rows (incl. warm-up): {all_reports} / {all_cases} "
            f"(expected {intake.ok + warm_ok})"
        )
        print(
            f"    capture jobs waiting in Redis (LLEN)    : {queued} "
            f"(expected {intake.ok + warm_ok}: one per new case)"
        )
        verified = rows == intake.ok == len(codes) == found and not bad_bodies
        print(f"    every 201 is in the database            : {'YES' if verified else 'NO'}")
        status = 0 if verified and intake.errors == 0 and health.errors == 0 else 1
    except (Abort, KeyboardInterrupt) as exc:
        print(f"\ninterrupted: {str(exc) or 'Ctrl-C'}; cleaning up", file=sys.stderr)
        status = 130
    except Exception as exc:
        print(f"\nbenchmark failed: {exc}", file=sys.stderr)
        if log_path.exists():
            print("--- last lines of the server log ---", file=sys.stderr)
            print(log_path.read_text(errors="replace")[-3000:], file=sys.stderr)
        status = 1
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # no second Ctrl-C half-way through cleanup
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.alarm(0)
        if server is not None:
            stop_process_group(server)
        if db_created:
            try:
                with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as admin:
                    admin.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
            except psycopg.Error as exc:
                print(f"warning: could not drop database {dbname}: {exc}", file=sys.stderr)
        with contextlib.suppress(redis.RedisError):
            rds.flushdb()
        shutil.rmtree(tmp, ignore_errors=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
