"""A hosting provider in miniature for takedown tests: a web server on loopback whose pages can
be taken down, and the provider's abuse inbox (a real SMTP server, aiosmtpd) that takes a page
down when a notice naming it arrives, if the provider is one that complies."""

from __future__ import annotations

import email
import email.policy
import threading
import time
from dataclasses import dataclass, field
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller

from tests.stack import free_port


@dataclass
class Page:
    status: int
    body: bytes
    content_type: str = "text/html; charset=utf-8"


class _Server(ThreadingHTTPServer):
    request_queue_size = 256  # the default 5 drops concurrent connects: a 1 s SYN retry each
    daemon_threads = True


@dataclass
class HostedSite:
    """Pages by path; `take_down` answers 404 from then on, `soft_404` a 200 saying so."""

    pages: dict[str, Page] = field(default_factory=dict)
    hits: list[str] = field(default_factory=list)
    delay_s: float = 0.0  # a far-away host: each answer waits this long

    def __post_init__(self) -> None:
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                site.hits.append(self.path)
                if site.delay_s:
                    time.sleep(site.delay_s)
                page = site.pages.get(self.path, Page(404, b"<h1>404 Not Found</h1>"))
                body = page.body
                self.send_response(page.status)
                self.send_header("Content-Type", page.content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = _Server(("127.0.0.1", free_port()), Handler)
        self.port = self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def put(self, path: str, html: str, status: int = 200) -> None:
        self.pages[path] = Page(status, html.encode())

    def put_picture(self, path: str, data: bytes) -> None:
        self.pages[path] = Page(200, data, "image/jpeg")

    def take_down(self, path: str) -> None:
        self.pages.pop(path, None)

    def soft_404(self, path: str) -> None:
        self.pages[path] = Page(200, "<title>Ошибка</title><p>Страница не найдена</p>".encode())

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class AbuseInbox:
    """The provider's abuse address. With `complies`, a notice naming a hosted URL takes that
    page down as soon as the message is accepted."""

    def __init__(self, site: HostedSite, host: str, *, complies: bool = True) -> None:
        self.site, self.host, self.complies = site, host, complies
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.refuse = False
        self.port = free_port()
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if self.refuse:
            return "450 mailbox busy, try later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self.messages.append(message)
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        if self.complies:
            body = message.get_content()
            for path in list(self.site.pages):
                if f"http://{self.host}{path}" in body:
                    self.site.take_down(path)
        return "250 Message accepted"

    def start(self) -> AbuseInbox:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()
