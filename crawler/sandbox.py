"""The sandbox web: synthetic sites served on 127.0.0.1, one port, told apart by Host header.

Browsers reach it through `host_map` (Chromium's host-resolver rules), so pages keep their
invented `.kz` and foreign names while no packet leaves loopback.
"""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from urllib.parse import parse_qs, urlsplit

from crawler import sandbox_sites

MAX_HOLD_S = 600.0


class _Handler(BaseHTTPRequestHandler):
    server: _SandboxServer
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # else keep-alive responses stall ~40 ms on delayed ACKs

    def log_message(self, format: str, *args: object) -> None:
        return

    def do_GET(self) -> None:
        host = (self.headers.get("Host") or "").split(":")[0].lower().rstrip(".")
        parts = urlsplit(self.path)
        self.server.hits.append((host, parts.path))
        if parts.path.startswith("/img/"):
            self._image(parts.path[5:])
        elif host == "slow.kz":
            self._slow(parts.path, parse_qs(parts.query))
        else:
            self._page(host, parts.path)

    def _send(self, status: int, body: bytes, content_type: str, **headers: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        self.end_headers()
        self.wfile.write(body)

    def _page(self, host: str, path: str) -> None:
        page = sandbox_sites.find_page(host, path)
        if page is None:
            self._send(404, b"<h1>Not found in the sandbox web</h1>", "text/html; charset=utf-8")
        elif page.redirect:
            self._send(302, b"", "text/html", Location=page.redirect)
        else:
            self._send(page.status, sandbox_sites.render(page), "text/html; charset=utf-8")

    def _image(self, name: str) -> None:
        if not name.replace("-", "").replace(".", "").replace("~", "").isalnum():
            self._send(404, b"", "text/plain")
            return
        kind = "image/png" if name.endswith(".png") else "image/jpeg"
        self._send(200, sandbox_sites.image_bytes(name), kind, Cache_Control="no-store")

    def _slow(self, path: str, query: dict[str, list[str]]) -> None:
        """`/hold/KEY` hangs on its first request (a capture to kill), answers after that."""
        if path.startswith("/hold/"):
            key = path[6:]
            with self.server.lock:
                first = key not in self.server.held
                self.server.held.add(key)
            if first:
                self.server.stopping.wait(float(query.get("s", [str(MAX_HOLD_S)])[0]))
            page = sandbox_sites.Page("Held page", f"<h1>Held page {key}</h1>", ("held.png",))
            self._send(200, sandbox_sites.render(page), "text/html; charset=utf-8")
            return
        self._send(404, b"", "text/plain")


class _SandboxServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int]) -> None:
        super().__init__(address, _Handler)
        self.hits: list[tuple[str, str]] = []
        self.held: set[str] = set()
        self.lock = threading.Lock()
        self.stopping = threading.Event()


class SandboxWeb:
    """Start with `with SandboxWeb() as web:`; `web.host_map` goes to the capture settings."""

    def __init__(self, port: int = 0, bind: str = "127.0.0.1") -> None:
        self._server = _SandboxServer((bind, port))
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def hits(self) -> list[tuple[str, str]]:
        return self._server.hits

    @property
    def host_map(self) -> dict[str, str]:
        return {host: f"127.0.0.1:{self.port}" for host in sandbox_sites.HOSTS}

    def start(self) -> SandboxWeb:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.stopping.set()
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> SandboxWeb:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def serve_forever(port: int) -> None:
    """Run the sandbox web in the foreground (for `hotline sandbox`)."""
    with SandboxWeb(port=port) as web:
        print(f"sandbox web on 127.0.0.1:{web.port}; hosts: {', '.join(sandbox_sites.HOSTS)}")
        while True:
            time.sleep(3600)
