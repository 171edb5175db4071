"""Sweep throughput: pages per second per process, plain and through the browser, and the same
with two processes sharing the Redis frontier (the scaling ratio against one process, measured
in the same run).

Run:  python benchmarks/bench_sweep.py [--hosts 30] [--pages-per-host 60] [--browser-pages 150]

A threaded web server in its own process serves invented `.kz` hosts on loopback, each page
about 2,000 characters of text with links along its host and across to two others; robots.txt
answers 404. Each sweep runs `python -m crawler.sweep.run` (the spider, the egress point, the
frontier) and writes JSON lines; politeness is off (no delay, 8 requests per host) so that the
figure is the sweep's own cost, not a host's patience. Every figure includes the process's
start (about 1.5 s) and its end; the table gives it apart.

Baselines measured here too:
- one process on its own queue (Scrapy's scheduler) against one process on the Redis frontier:
  the frontier's own cost;
- the cost of starting a sweep process, which a design of one Celery task per host batch would
  pay per batch (Scrapy's reactor runs once per process, so each task is a child process).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from multiprocessing import Process, Queue
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

REDIS_URL = "redis://127.0.0.1:6379/11"
_TEXT = (
    "жаңалықтар қала әкімдігі мектеп ауа райы спорт мәдениет бағдарлама жол құрылыс новости"
    " города погода расписание автобусов библиотека выставка концерт парк ремонт дороги"
)
WORDS = _TEXT.split()


def page(host: int, number: int, hosts: int, per_host: int) -> bytes:
    text = " ".join(WORDS[(host * 7 + number * 3 + i) % len(WORDS)] for i in range(260))[:2000]
    links = [f"/p/{(number + step) % per_host}" for step in range(1, 6)]
    links += [f"http://h{(host + jump) % hosts}.kz/p/{number}" for jump in (1, 7)]
    anchors = "".join(f'<a href="{link}">{link}</a> ' for link in links)
    body = f"<html><head><title>h{host} {number}</title></head><body><p>{text}</p>{anchors}"
    return (body + "</body></html>").encode()


def serve(hosts: int, per_host: int, latency: float, ready: Queue) -> None:
    """Pages on loopback; with `latency` every page answers that many seconds late, as a host
    far away does (robots.txt at once)."""

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            host = (self.headers.get("Host") or "").split(":")[0]
            parts = self.path.split("/")
            if not host.startswith("h") or len(parts) != 3 or parts[1] != "p":
                self.send_error(404)
                return
            body = page(int(host[1:].split(".")[0]), int(parts[2]), hosts, per_host)
            if latency:
                time.sleep(latency)
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    ThreadingHTTPServer.request_queue_size = 256
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    ready.put((latency, server.server_address[1]))
    server.serve_forever()


def sweep(
    port: int,
    hosts: int,
    out: Path,
    *,
    max_pages: int,
    frontier: str | None,
    render: str = "never",
) -> subprocess.Popen[bytes]:
    host_map = {f"h{n}.kz": f"127.0.0.1:{port}" for n in range(hosts)}
    args = [
        sys.executable,
        "-m",
        "crawler.sweep.run",
        *[arg for n in range(hosts) for arg in ("--seed", f"http://h{n}.kz/p/0")],
        "--out",
        str(out),
        "--host-map",
        json.dumps(host_map),
        "--host-map-only",
        "--max-pages",
        str(max_pages),
        "--max-pages-per-host",
        str(max_pages),
        "--max-depth",
        "1000",
        "--delay",
        "0",
        "--per-host-concurrency",
        "8",
        "--render",
        render,
    ]
    if frontier:
        args += ["--frontier", REDIS_URL, "--frontier-key", frontier]
    return subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def pages_in(out: Path) -> int:
    if not out.exists():
        return 0
    return sum(1 for line in out.read_text().splitlines() if '"kind": "page"' in line)


def run(
    port: int, hosts: int, processes: int, max_pages: int, shared: bool, render: str = "never"
) -> tuple[float, int]:
    """(seconds, pages) of `processes` sweep processes working one sweep."""
    import redis

    key = f"hotline:bench-sweep:{uuid.uuid4().hex}" if shared else None
    with tempfile.TemporaryDirectory() as scratch:
        outs = [Path(scratch) / f"{n}.jsonl" for n in range(processes)]
        began = time.perf_counter()
        children = [
            sweep(port, hosts, out, max_pages=max_pages, frontier=key, render=render)
            for out in outs
        ]
        for child in children:
            _, stderr = child.communicate(timeout=1800)
            if child.returncode != 0:
                raise SystemExit(stderr.decode()[-3000:])
        took = time.perf_counter() - began
        total = sum(pages_in(out) for out in outs)
    if key:
        client = redis.Redis.from_url(REDIS_URL)
        stale = list(client.scan_iter(f"{key}:*"))
        if stale:
            client.delete(*stale)
    return took, total


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=30)
    parser.add_argument("--pages-per-host", type=int, default=60)
    parser.add_argument("--browser-pages", type=int, default=150)
    parser.add_argument("--latency", type=float, default=0.5, help="seconds, far hosts' rows")
    parser.add_argument("--repeat", type=int, default=2, help="best of N for each row")
    args = parser.parse_args()
    total = args.hosts * args.pages_per_host

    ready: Queue = Queue()
    servers = []
    for latency in (0.0, args.latency):
        server = Process(
            target=serve, args=(args.hosts, args.pages_per_host, latency, ready), daemon=True
        )
        server.start()
        servers.append(server)
    ports = dict(ready.get(timeout=30) for _ in servers)
    near, far = ports[0.0], ports[args.latency]
    rows: dict[str, tuple[float, int]] = {}

    def best(name: str, port: int, *row: object) -> None:
        runs = [run(port, args.hosts, *row) for _ in range(args.repeat)]  # type: ignore[arg-type]
        rows[name] = min(runs, key=lambda r: r[0] / max(r[1], 1))

    try:
        best("start-up", near, 1, 1, False)
        best("plain, own queue", near, 1, total, False)
        best("plain, Redis frontier", near, 1, total, True)
        best("plain, 2 on one frontier", near, 2, total, True)
        best(f"far hosts ({args.latency} s), Redis frontier", far, 1, total, True)
        best(f"far hosts ({args.latency} s), 2 on one", far, 2, total, True)
        best("browser, Redis frontier", near, 1, args.browser_pages, True, "always")
        best("browser, 2 on one frontier", near, 2, args.browser_pages, True, "always")
    finally:
        for server in servers:
            server.terminate()

    print(f"sandbox: {args.hosts} hosts x {args.pages_per_host} pages, 2 cores")
    print(f"{'':40}{'pages':>7}{'seconds':>9}{'pages/s':>9}{'per proc':>10}")
    for name, (took, pages) in rows.items():
        processes = 2 if "2 on" in name else 1
        per_s = pages / took
        print(f"  {name:38}{pages:7d}{took:9.2f}{per_s:9.1f}{per_s / processes:10.1f}")
    startup = rows["start-up"][0]
    plain1 = rows["plain, Redis frontier"]
    plain2 = rows["plain, 2 on one frontier"]
    own = rows["plain, own queue"]
    far1 = rows[f"far hosts ({args.latency} s), Redis frontier"]
    far2 = rows[f"far hosts ({args.latency} s), 2 on one"]
    browser1 = rows["browser, Redis frontier"]
    browser2 = rows["browser, 2 on one frontier"]

    def rate(row: tuple[float, int]) -> float:
        return row[1] / row[0]

    def steady(row: tuple[float, int]) -> float:
        return row[1] / max(row[0] - startup, 1e-9)

    print(f"start-up and end of a sweep process (one page): {startup:.2f} s")
    print(f"ratio Redis frontier / own queue, one process: {rate(plain1) / rate(own):.2f}x")
    print(f"scaling, plain, 2 processes / 1: {rate(plain2) / rate(plain1):.2f}x")
    print(f"scaling, far hosts, 2 processes / 1: {rate(far2) / rate(far1):.2f}x")
    print(f"scaling, browser, 2 processes / 1: {rate(browser2) / rate(browser1):.2f}x")
    print(
        f"without start-up: plain {steady(plain1):.1f} pages/s per process,"
        f" browser {steady(browser1):.1f} pages/s per process"
    )
    batch = 20
    print(
        f"one Celery task per host batch of {batch} pages would spend"
        f" {startup / (startup + batch / steady(plain1)):.0%} of its time starting a process"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
