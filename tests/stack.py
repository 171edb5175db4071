"""A running hotline for integration tests: API server and Celery worker as real processes."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

from triage_api.processes import stop_group

FAST_PIPELINE = {
    "HOTLINE_STAGE_LIMIT_S": "25",
    "HOTLINE_RECONCILE_EVERY_S": "2",
    "HOTLINE_CAPTURE_TIMEOUT_S": "15",
    "HOTLINE_VISIBILITY_TIMEOUT_S": "40",
    "HOTLINE_TRUST_FORWARDED_FOR": "true",
    "HOTLINE_REPORT_RATE_LIMIT": "20",
}


def sign_in(client: httpx.Client, token: str, **options: Any) -> httpx.Response:
    """Sign in to the UI as a browser does: the login page sets the CSRF cookie its form sends."""
    client.get("/ui/login")
    return client.post(
        "/ui/login", data={"token": token, "csrf": client.cookies["hotline_csrf"]}, **options
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(check: Callable[[], Any], timeout: float, what: str, every: float = 0.5) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")


class Stack:
    """One engine's hotline: env, database, API process, worker process."""

    def __init__(
        self,
        data_dir: Path,
        host_map: dict[str, str],
        database_url: str | None = None,
        broker_url: str | None = None,
        rate_limit_url: str | None = None,
    ) -> None:
        self.data_dir = data_dir
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("HOTLINE_")}
        self.env |= FAST_PIPELINE | {
            "HOTLINE_DATA_DIR": str(data_dir),
            "HOTLINE_HOST_MAP": json.dumps(host_map),
            "HOTLINE_HOST_MAP_ONLY": "true",
        }
        for name, value in (
            ("HOTLINE_DATABASE_URL", database_url),
            ("HOTLINE_BROKER_URL", broker_url),
            ("HOTLINE_RATE_LIMIT_URL", rate_limit_url),
        ):
            if value:
                self.env[name] = value
        self.db_url = database_url or f"sqlite:///{data_dir.resolve() / 'hotline.sqlite'}"
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.server: subprocess.Popen[bytes] | None = None
        self.worker: subprocess.Popen[bytes] | None = None
        self.engine = None

    def cli(
        self, *args: str, check: bool = True, stdin: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [sys.executable, "-m", "triage_api.cli", *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=300,
            input=stdin,
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"hotline {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
            )
        return result

    def spawn(self, *args: str, log: str) -> subprocess.Popen[bytes]:
        handle = open(self.data_dir / log, "ab")  # noqa: SIM115 - lives as long as the process
        return subprocess.Popen(
            [sys.executable, "-m", "triage_api.cli", *args],
            env=self.env,
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def start(self) -> Stack:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.cli("db", "upgrade")
        self.server = self.spawn("serve", "--port", str(self.port), log="server.log")
        self.start_worker()
        wait_until(self._healthy, 60, "the API to answer")
        self.engine = sa.create_engine(self.db_url)
        return self

    def start_worker(self) -> None:
        self.worker = self.spawn(
            "worker", "--concurrency", "2", "--loglevel", "INFO", log="worker.log"
        )

    def kill_worker(self) -> None:
        """SIGKILL the worker and everything in its process group, like a crashed machine."""
        assert self.worker is not None
        os.killpg(self.worker.pid, signal.SIGKILL)
        self.worker.wait(timeout=10)

    def _healthy(self) -> bool:
        try:
            return httpx.get(f"{self.base}/api/v1/healthz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def add_user(self, name: str, role: str) -> str:
        return self.cli("user", "add", name, "--role", role).stdout.strip().splitlines()[-1]

    def report(
        self, url: str, category: str | None = None, client: str = "198.51.100.7"
    ) -> httpx.Response:
        body: dict[str, Any] = {"url": url}
        if category:
            body["category"] = category
        return httpx.post(
            f"{self.base}/api/v1/reports",
            json=body,
            headers={"X-Forwarded-For": client},
            timeout=30,
        )

    def stages(self) -> dict[int, str]:
        assert self.engine is not None
        with self.engine.connect() as connection:
            return dict(connection.execute(sa.text("SELECT id, stage FROM cases")).all())

    def wait_ready(self, case_ids: set[int] | None = None, timeout: float = 180) -> None:
        def ready() -> bool:
            stages = self.stages()
            wanted = case_ids if case_ids is not None else set(stages)
            return bool(wanted) and all(stages.get(i) == "ready" for i in wanted)

        wait_until(ready, timeout, "every case to reach the queue", every=1)

    def logs(self) -> str:
        out = []
        for name in ("server.log", "worker.log"):
            path = self.data_dir / name
            if path.exists():
                out.append(f"--- {name} ---\n" + path.read_text(errors="replace")[-6000:])
        return "\n".join(out)

    def stop(self) -> None:
        for process in (self.worker, self.server):
            if process is not None:
                stop_group(process)
        if self.engine is not None:
            self.engine.dispose()
