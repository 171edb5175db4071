"""The analysts' queue page with 100,000 open cases in PostgreSQL: render time per request.

Run:  python benchmarks/bench_queue_page.py [--cases N] [--requests N]

A fresh database is filled as in `bench_claims.py`; the app runs in-process (Starlette's test
client, no network) and an analyst asks for `/ui/queue` (200 ranked cases, their reasons and
mirrors, rendered as HTML) again and again. Printed: p50/p95/p99 in ms; baseline in the same
run: `GET /api/v1/queue?limit=200` (the same ranking as JSON) and `GET /api/v1/healthz`
(framework plus one round trip). The database is dropped at the end.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_claims import queue_database  # noqa: E402


def timed(get, url: str, count: int) -> np.ndarray:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(count):
        started = time.perf_counter()
        answer = get(url)
        times.append(time.perf_counter() - started)
        assert answer.status_code == 200, (url, answer.status_code)
    return np.array(times) * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    with queue_database(args.cases):
        from fastapi.testclient import TestClient

        from triage_api.api.app import create_app
        from triage_api.db import session_factory
        from triage_api.security import add_user

        with session_factory()() as session:
            token = add_user(session, name="analyst", role="analyst")[1]
            session.commit()
        client = TestClient(create_app())
        client.get("/ui/login")  # the CSRF cookie the sign-in form needs
        client.post("/ui/login", data={"token": token, "csrf": client.cookies["hotline_csrf"]})
        headers = {"Authorization": f"Bearer {token}"}
        api = TestClient(create_app(), headers=headers)
        client.get("/ui/queue")  # first request: templates compiled, pools filled
        page = timed(client.get, "/ui/queue", args.requests)
        json_queue = timed(api.get, "/api/v1/queue?limit=200", args.requests)
        health = timed(api.get, "/api/v1/healthz", args.requests)
        print(f"{args.cases:,} open cases in PostgreSQL; {args.requests} requests each\n")
        print("                               p50 ms   p95 ms   p99 ms")
        for label, t in (
            ("queue page (HTML, 200 cases)", page),
            ("queue API (JSON, 200 cases)", json_queue),
            ("healthz (baseline)", health),
        ):
            p50, p95, p99 = np.percentile(t, [50, 95, 99])
            print(f"  {label:29s} {p50:7.1f} {p95:8.1f} {p99:8.1f}")
        ratio = np.percentile(page, 95) / np.percentile(json_queue, 95)
        print(f"\n  ratio p95 page / JSON API: {ratio:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
