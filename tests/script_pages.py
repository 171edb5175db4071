"""Loopback helpers for sweeps that render pages: a canary that counts every connection made to
it, a site (pinned as script-shop.kz) whose app-shell page aims the browser at given addresses by
script, and one sweep process (`python -m crawler.sweep.run`) run against a host map."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any

SHOP_HOST = "script-shop.kz"
SHOP_TEXT = "Витрина Script Shop написана скриптом: чай, термосы и кружки со скидкой."
_SHELL = """<!doctype html><html lang="ru"><head><meta charset="utf-8"><title>Script Shop</title>
</head><body><div id="app"></div><noscript>Включите JavaScript.</noscript><script>
var app = document.getElementById('app'), shop = %s;
app.appendChild(document.createElement('p')).textContent = shop.text;
shop.targets.forEach(function (url) {
  fetch(url).catch(function () { return null; });
  app.appendChild(document.createElement('img')).src = url;
});
</script></body></html>"""


class Canary:
    """A listener on loopback standing in for a private service; the tests want zero visits."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = int(self.sock.getsockname()[1])
        self.connections = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\nConnection: close\r\n\r\ncanary")
            conn.close()

    def close(self) -> None:
        self.sock.close()


class ScriptShop:
    """`with ScriptShop(targets) as shop:`; `/` is an app shell whose script fetches each target
    and shows it as a picture; `/file` answers with a download; everything else is 404."""

    def __init__(self, targets: list[str]) -> None:
        shell = _SHELL % json.dumps({"text": SHOP_TEXT, "targets": targets})
        pages: dict[str, tuple[str, bytes, dict[str, str]]] = {
            "/": ("text/html; charset=utf-8", shell.encode(), {}),
            "/file": (
                "application/octet-stream",
                b"synthetic file, not evidence",
                {"Content-Disposition": 'attachment; filename="price-list.bin"'},
            ),
        }
        self.hits: list[str] = []
        hits = self.hits

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                return

            def do_GET(self) -> None:
                hits.append(self.path)
                kind, body, headers = pages.get(self.path, ("text/plain", b"not here", {}))
                self.send_response(200 if self.path in pages else 404)
                for name, value in {"Content-Type": kind, **headers}.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True

    @property
    def host_map(self) -> dict[str, str]:
        return {SHOP_HOST: f"127.0.0.1:{self._server.server_address[1]}"}

    def __enter__(self) -> ScriptShop:
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._server.shutdown()
        self._server.server_close()


def sweep(
    host_map: dict[str, str],
    out: Path,
    *seeds: str,
    extra: tuple[str, ...] = (),
    map_only: bool = True,
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """One sweep process; its JSON lines and its stats. `map_only=False` lets the egress point
    ask DNS for names off the map: inside the loopback-only network namespace only."""
    args = [arg for seed in seeds for arg in ("--seed", seed)]
    stats = out.with_suffix(".stats.json")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "crawler.sweep.run",
            *args,
            "--out",
            str(out),
            "--host-map",
            json.dumps(host_map),
            *(["--host-map-only"] if map_only else []),
            "--delay",
            "0",
            "--stats",
            str(stats),
            *extra,
        ],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    return rows, json.loads(stats.read_text())
