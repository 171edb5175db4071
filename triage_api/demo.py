"""`hotline demo`: the whole hotline on one laptop, fed by the synthetic sandbox web.

Starts the sandbox web, a worker (with the scheduler) and the API+UI, files the sample reports
through the public API, waits until the queue is built from real captures, then prints the address
and a login token. Ctrl-C stops everything it started.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import time
from contextlib import ExitStack
from typing import Any

import httpx
import sqlalchemy as sa

from classifiers.hashing import digests
from crawler import sandbox_sites
from crawler.sandbox import SandboxWeb
from triage_api.config import get_settings
from triage_api.db import session_scope, upgrade
from triage_api.hashlists import get_or_create_list
from triage_api.models import Case, KnownHash, Report, User
from triage_api.processes import stop_group
from triage_api.security import add_user, issue_token, set_password

DEMO_USER = "demo-analyst"
DEMO_LIST = "demo-known-material"
READY_TIMEOUT_S = 300.0


def _ensure_analyst() -> tuple[str, str]:
    """The demo analyst's API token and a fresh password for the web sign-in (demo data only)."""
    password = secrets.token_urlsafe(12)
    with session_scope() as session:
        user = session.scalar(sa.select(User).where(User.name == DEMO_USER))
        if user is None:
            user, token = add_user(session, name=DEMO_USER, role="analyst")
        else:
            token = issue_token(session, user)
        set_password(session, user, password)
        return token, password


def _ensure_demo_list() -> None:
    """The demo list names the sandbox's drawn emblem, standing in for known material."""
    sha256, md5, _ = digests(sandbox_sites.image_bytes(sandbox_sites.KNOWN_IMAGE))
    with session_scope() as session:
        hash_list = get_or_create_list(
            session,
            name=DEMO_LIST,
            category="extremism",
            source="demo: synthetic emblem",
            trust="trusted",
        )
        for kind, value in (("sha256", sha256), ("md5", md5)):
            exists = session.scalar(
                sa.select(KnownHash.id).where(
                    KnownHash.list_id == hash_list.id,
                    KnownHash.hash_type == kind,
                    KnownHash.value == value,
                )
            )
            if exists is None:
                session.add(
                    KnownHash(
                        list_id=hash_list.id,
                        hash_type=kind,
                        value=value,
                        note="synthetic demo emblem",
                    )
                )


def _spawn(args: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "triage_api.cli", *args], env=env, start_new_session=True
    )


def _wait_http(base: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/api/v1/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"the API did not start at {base}")


def _wait_queue(case_ids: set[int], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with session_scope() as session:
            pending = session.scalar(
                sa.select(sa.func.count(Case.id)).where(
                    Case.id.in_(case_ids), Case.stage != "ready"
                )
            )
        if not pending:
            return True
        print(f"  … {pending} case(s) still in capture/analysis", flush=True)
        time.sleep(2)
    return False


def _sweep_from_reports(env: dict[str, str]) -> dict[str, Any] | None:
    """A small sweep seeded from the reported Kaznet sites, in a child process (Scrapy's reactor
    runs once per process); its summary, or None if it failed (the demo goes on)."""
    roots = dict.fromkeys(
        f"http://{url.split('/')[2].split(':')[0].lower()}/"
        for url, _ in sandbox_sites.SAMPLE_REPORTS
        if ".kz" in url.lower()
    )
    seeds = [arg for root in roots for arg in ("--seed", root)]
    budget = ["--max-pages", "80", "--max-depth", "2", "--delay", "0", "--render", "never"]
    done = subprocess.run(
        [sys.executable, "-m", "triage_api.cli", "sweep", "start", *seeds, *budget],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if done.returncode != 0:
        print(f"warning: the demo sweep failed: {done.stderr[-500:]}", file=sys.stderr)
        return None
    summary: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return summary


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def run_demo(*, host: str = "127.0.0.1", port: int = 8000, once: bool = False) -> int:
    signal.signal(signal.SIGTERM, _interrupt)  # so a terminated demo still stops its children
    web = SandboxWeb().start()
    os.environ["HOTLINE_HOST_MAP"] = json.dumps(web.host_map)
    os.environ["HOTLINE_HOST_MAP_ONLY"] = "true"
    os.environ.setdefault("HOTLINE_RECONCILE_EVERY_S", "10")
    get_settings.cache_clear()
    settings = get_settings()
    os.environ["HOTLINE_DATA_DIR"] = str(settings.resolved_data_dir)
    env = dict(os.environ)
    with ExitStack() as stack:
        stack.callback(web.stop)
        upgrade()
        token, password = _ensure_analyst()
        _ensure_demo_list()
        worker = _spawn(["worker", "--concurrency", "2", "--loglevel", "WARNING"], env)
        stack.callback(stop_group, worker)
        server = _spawn(["serve", "--host", host, "--port", str(port)], env)
        stack.callback(stop_group, server)
        base = f"http://{host}:{port}"
        _wait_http(base)
        samples = sandbox_sites.SAMPLE_REPORTS
        print(f"sandbox web on 127.0.0.1:{web.port}; filing {len(samples)} sample reports")
        codes = []
        for url, category in sandbox_sites.SAMPLE_REPORTS:
            answer = httpx.post(f"{base}/api/v1/reports", json={"url": url, "category": category})
            answer.raise_for_status()
            codes.append(answer.json()["tracking_code"])
        with session_scope() as session:
            case_ids = set(
                session.scalars(sa.select(Report.case_id).where(Report.tracking_code.in_(codes)))
            )
        ready = _wait_queue(case_ids, READY_TIMEOUT_S)
        subprocess.run(
            [sys.executable, "-m", "triage_api.cli", "queue", "--limit", "20"], env=env, check=False
        )
        sweep = _sweep_from_reports(env)
        print()
        print(f"Open the analysts' UI: {base}/ui/queue")
        print(f"Sign in as '{DEMO_USER}' with the password {password} (or the API token {token})")
        print(f"A reporter's status page: {base}/status/{codes[0]}?lang=en")
        if sweep:
            print(
                f"A proactive sweep from the reported sites read {sweep['pages']} pages on"
                f" {sweep['hosts']} hosts and opened {sweep['new_cases']} case(s):"
                f" {base}/ui/sweeps/{sweep['id']}"
            )
        if not ready:
            print(
                "warning: some captures did not finish in time; see the worker's log",
                file=sys.stderr,
            )
        if once:
            return 0 if ready else 1
        print("Press Ctrl-C to stop.")
        try:
            while worker.poll() is None and server.poll() is None:
                time.sleep(1)
        except KeyboardInterrupt:
            print("\nstopping…")
            return 0
        print("error: a demo process stopped unexpectedly", file=sys.stderr)
        return 1
    return 0
