"""The egress point: every connection of a capture leaves through here, or not at all.

A small forward proxy on 127.0.0.1 (HTTP `CONNECT` for https, absolute-form requests for http).
It resolves each host itself, refuses addresses that are not on the public internet, and connects
to exactly the address it checked, so a DNS answer that changes between check and use (rebinding)
cannot slip through. The browser is pointed at it and can resolve nothing by itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import socket
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

CGNAT = ipaddress.ip_network("100.64.0.0/10")
# Not public, whatever the Python version's own tables say (IETF protocol assignments, 6to4 relay).
ALSO_REFUSED = tuple(
    ipaddress.ip_network(n) for n in ("192.0.0.0/24", "192.88.99.0/24", "2001::/23")
)
NAT64 = ipaddress.ip_network("64:ff9b::/96")
MAX_HEAD_BYTES = 64 * 1024
MAX_EVENTS = 5000
CONNECT_TIMEOUT_S = 10.0
HEAD_TIMEOUT_S = 30.0


def host_key(host: str) -> str:
    """A host name or IP literal in one spelling (`[::ffff:127.0.0.1]` = `::ffff:7f00:1`)."""
    name = host.strip().strip("[]").lower().rstrip(".")
    try:
        return str(ipaddress.ip_address(name))
    except ValueError:
        return name


def refusal(address: IpAddress) -> str | None:
    """Why a connection to `address` is refused, or None when it is a public internet address."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            reason = refusal(embedded)
            if reason:
                return f"{reason} (inside {address})"
            if address.ipv4_mapped is not None:
                return None
    checks = (
        (address.is_unspecified, "unspecified address"),
        (address.is_loopback, "loopback address"),
        (address.is_link_local, "link-local address (metadata services live here)"),
        (address.is_multicast, "multicast address"),
        (isinstance(address, ipaddress.IPv4Address) and address in CGNAT, "carrier-grade NAT"),
        (any(address in n for n in ALSO_REFUSED if n.version == address.version), "special use"),
        (address.is_private, "private address"),
        (address.is_reserved, "reserved address"),
        (not address.is_global, "not a public internet address"),
    )
    return next((reason for refused, reason in checks if refused), None)


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries (mapped, 6to4, Teredo, NAT64), if any."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    if address in NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


class Unresolved(LookupError):
    """The host name has no address (or is not on the sandbox map)."""


@dataclass(frozen=True)
class EgressPolicy:
    """What a capture may reach.

    `allow` lists networks an operator opened on purpose (`--allow-private CIDR`). `pins` send a
    host name to a fixed `ip:port` (the sandbox web) without asking DNS; with `pins_only`, every
    other name is refused, so the tests and the demo can never reach the internet.
    """

    allow: tuple[IpNetwork, ...] = ()
    pins: dict[str, tuple[str, int]] = field(default_factory=dict)
    pins_only: bool = False

    @classmethod
    def build(
        cls,
        allow: Iterable[str] = (),
        host_map: dict[str, str] | None = None,
        pins_only: bool = False,
    ) -> EgressPolicy:
        pins = {}
        for host, target in (host_map or {}).items():
            ip, _, port = target.rpartition(":")
            pins[host.lower().rstrip(".")] = (ip.strip("[]"), int(port))
        networks = tuple(ipaddress.ip_network(cidr, strict=False) for cidr in allow)
        return cls(networks, pins, pins_only)

    def check(self, address: IpAddress) -> str | None:
        if any(address in network for network in self.allow if network.version == address.version):
            return None
        return refusal(address)

    def describe(self) -> dict[str, object]:
        """For the capture manifest: which rule let traffic out."""
        return {
            "refused": "every address that is not public internet (loopback, private, link-local,"
            " CGNAT, multicast, reserved, documentation; IPv4 inside IPv6 included)",
            "allowed_networks": [str(n) for n in self.allow],
            "pinned_hosts": sorted(self.pins),
            "pinned_hosts_only": self.pins_only,
        }

    async def resolve(self, host: str, port: int) -> tuple[list[tuple[str, int]], list[str]]:
        """Addresses this policy lets a connection to host:port use, and why others were refused.

        Raises `Unresolved` when the name has no address at all.
        """
        name = host.lower().rstrip(".").strip("[]")
        if name in self.pins:
            return [self.pins[name]], []
        if self.pins_only:
            raise Unresolved(f"{name} is not on the sandbox map")
        try:
            literal: IpAddress | None = ipaddress.ip_address(name)
        except ValueError:
            literal = None
        if literal is not None:
            candidates = [literal]
        else:
            try:
                infos = await asyncio.get_running_loop().getaddrinfo(
                    name, port, type=socket.SOCK_STREAM
                )
            except (OSError, UnicodeError) as exc:
                raise Unresolved(f"{name} does not resolve ({exc})") from None
            candidates = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]
        allowed, refused = [], []
        for address in dict.fromkeys(candidates):
            reason = self.check(address)
            if reason:
                refused.append(f"{address}: {reason}")
            else:
                allowed.append((str(address), port))
        return allowed, refused


@dataclass(slots=True)
class EgressEvent:
    """One connection the capture asked for, and what the egress point did with it."""

    at: float
    kind: str  # "connect" (https tunnel) or "http"
    host: str
    port: int
    url: str | None
    decision: str  # "allowed", "refused", "unresolved", "failed" (could not connect)
    address: str | None = None
    reason: str | None = None
    bytes_out: int = 0
    bytes_in: int = 0

    def as_dict(self) -> dict[str, object]:
        return {name: getattr(self, name) for name in self.__slots__}


class _ByteBudget:
    def __init__(self, limit: int) -> None:
        self.limit, self.used, self.exceeded = limit, 0, False

    def take(self, count: int) -> bool:
        self.used += count
        if self.used > self.limit:
            self.exceeded = True
        return not self.exceeded


class EgressProxy:
    """A forward proxy for one capture; `async with EgressProxy(policy) as proxy: proxy.url`."""

    def __init__(
        self,
        policy: EgressPolicy,
        *,
        max_bytes: int = 200 * 1024 * 1024,
        max_connections: int = 600,
    ) -> None:
        self.policy = policy
        self.events: list[EgressEvent] = []
        self.budget = _ByteBudget(max_bytes)
        self.max_connections = max_connections
        self.connections = 0
        self.limit_hit: str | None = None
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._writers: set[asyncio.StreamWriter] = set()

    @property
    def url(self) -> str:
        assert self._server is not None
        port = self._server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    async def __aenter__(self) -> EgressProxy:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0, limit=MAX_HEAD_BYTES)
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for writer in list(self._writers):
            writer.transport.abort()  # handlers see their sockets close and end by themselves
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=2)
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=3)
        if self._server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 5)

    def refused(self) -> list[EgressEvent]:
        return [event for event in self.events if event.decision == "refused"]

    def events_for(self, url: str | None) -> list[EgressEvent]:
        """The connections made for this URL's host, in order."""
        host = host_key((urlsplit(url).hostname or "") if url else "")
        return [event for event in self.events if host and host_key(event.host) == host]

    def address_of(self, url: str | None) -> str | None:
        """The server address the last allowed connection to this URL's host went to."""
        allowed = [e.address for e in self.events_for(url) if e.decision == "allowed"]
        return allowed[-1] if allowed else None

    def _record(self, event: EgressEvent) -> EgressEvent:
        if len(self.events) < MAX_EVENTS:
            self.events.append(event)
        return event

    def _stop_everything(self, why: str) -> None:
        self.limit_hit = self.limit_hit or why
        for writer in list(self._writers):
            writer.transport.abort()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self._writers.add(writer)
        try:
            await self._handle(reader, writer)
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError):
            pass
        finally:
            self._tasks.discard(task)
            self._writers.discard(writer)
            writer.close()  # flushes what is buffered (a refusal notice, the end of a body)
            with contextlib.suppress(Exception):
                await asyncio.wait_for(writer.wait_closed(), 2)
            writer.transport.abort()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), HEAD_TIMEOUT_S)
        request_line, _, rest = head.partition(b"\r\n")
        method, target, version = request_line.decode("latin-1").split(" ", 2)
        self.connections += 1
        if self.connections > self.max_connections:
            self._stop_everything(f"more than {self.max_connections} connections")
            return
        try:
            if method.upper() == "CONNECT":
                host, _, port_text = target.rpartition(":")
                port = int(port_text)
            else:
                parts = urlsplit(target)
                host, port = parts.hostname or "", parts.port or 80
        except ValueError:
            event = EgressEvent(
                time.time(),
                "http",
                "",
                0,
                target[:2000],
                "refused",
                reason="malformed request target",
            )
            await _answer(writer, 400, self._record(event))
            return
        if method.upper() == "CONNECT":
            await self._tunnel(reader, writer, host, port)
            return
        if parts.scheme != "http" or not parts.hostname:
            self._record(
                EgressEvent(
                    time.time(),
                    "http",
                    parts.hostname or "",
                    0,
                    target[:2000],
                    "refused",
                    reason=f"scheme {parts.scheme or 'none'!r}",
                )
            )
            await _answer(writer, 403, self.events[-1] if self.events else None)
            return
        path = parts.path or "/"
        if parts.query:
            path += "?" + parts.query
        new_head = f"{method} {path} {version}\r\n".encode("latin-1") + _forward_headers(rest)
        await self._forward(reader, writer, host, port, target, new_head)

    async def _open(
        self, kind: str, host: str, port: int, url: str | None
    ) -> tuple[EgressEvent, asyncio.StreamReader | None, asyncio.StreamWriter | None]:
        try:
            allowed, refused = await self.policy.resolve(host, port)
        except Unresolved as exc:
            event = EgressEvent(time.time(), kind, host, port, url, "unresolved", reason=str(exc))
            return self._record(event), None, None
        if not allowed:
            reason = "; ".join(refused) or "no address"
            return (
                self._record(
                    EgressEvent(time.time(), kind, host, port, url, "refused", reason=reason)
                ),
                None,
                None,
            )
        errors = []
        for ip, ip_port in allowed:
            try:
                upstream = await asyncio.wait_for(
                    asyncio.open_connection(ip, ip_port, limit=MAX_HEAD_BYTES), CONNECT_TIMEOUT_S
                )
            except (OSError, TimeoutError) as exc:
                errors.append(f"{ip}: {exc or type(exc).__name__}")
                continue
            event = EgressEvent(
                time.time(),
                kind,
                host,
                port,
                url,
                "allowed",
                address=ip,
                reason="; ".join(refused) or None,
            )
            return self._record(event), upstream[0], upstream[1]
        event = EgressEvent(
            time.time(), kind, host, port, url, "failed", reason="; ".join(errors + refused)
        )
        return self._record(event), None, None

    async def _tunnel(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, host: str, port: int
    ) -> None:
        event, up_reader, up_writer = await self._open("connect", host, port, None)
        if up_reader is None or up_writer is None:
            await _answer(writer, 403 if event.decision == "refused" else 502, event)
            return
        self._writers.add(up_writer)
        try:
            writer.write(b"HTTP/1.1 200 Connection Established\r\n\r\n")
            await writer.drain()
            await self._pipe_both(reader, writer, up_reader, up_writer, event)
        finally:
            self._writers.discard(up_writer)
            up_writer.transport.abort()

    async def _forward(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        host: str,
        port: int,
        url: str,
        head: bytes,
    ) -> None:
        event, up_reader, up_writer = await self._open("http", host, port, url[:2000])
        if up_reader is None or up_writer is None:
            await _answer(writer, 403 if event.decision == "refused" else 502, event)
            return
        self._writers.add(up_writer)
        try:
            up_writer.write(head)
            event.bytes_out += len(head)
            await up_writer.drain()
            await self._pipe_both(reader, writer, up_reader, up_writer, event, close_after=True)
        finally:
            self._writers.discard(up_writer)
            up_writer.transport.abort()

    async def _pipe_both(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        up_reader: asyncio.StreamReader,
        up_writer: asyncio.StreamWriter,
        event: EgressEvent,
        close_after: bool = False,
    ) -> None:
        outward = asyncio.ensure_future(self._pipe(reader, up_writer, event, inbound=False))
        inward = asyncio.ensure_future(
            self._pipe(up_reader, writer, event, inbound=True, rewrite_head=close_after)
        )
        try:  # either side hanging up ends the exchange
            await asyncio.wait({inward, outward}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (outward, inward):
                task.cancel()
            await asyncio.gather(outward, inward, return_exceptions=True)

    async def _pipe(
        self,
        source: asyncio.StreamReader,
        sink: asyncio.StreamWriter,
        event: EgressEvent,
        *,
        inbound: bool,
        rewrite_head: bool = False,
    ) -> None:
        if rewrite_head:  # one request per connection: tell the browser not to reuse it
            head = await source.readuntil(b"\r\n\r\n")
            status_line, _, rest = head.partition(b"\r\n")
            if _is_attachment(rest):
                # Downloads are refused: the browser learns the headers, never the file, so not
                # even a temporary copy reaches its disk. (Over https the browser's own refusal
                # is what holds.)
                chunk = status_line + b"\r\n" + _withheld_headers(rest)
                event.reason = "attachment: body withheld"
                event.bytes_in += len(chunk)
                sink.write(chunk)
                await sink.drain()
                return
            chunk = status_line + b"\r\n" + _forward_headers(rest)
            event.bytes_in += len(chunk)
            sink.write(chunk)
            await sink.drain()
        while True:
            chunk = await source.read(65536)
            if not chunk:
                return
            if inbound:
                event.bytes_in += len(chunk)
                if not self.budget.take(len(chunk)):
                    self._stop_everything(f"more than {self.budget.limit} bytes received")
                    return
            else:
                event.bytes_out += len(chunk)
            sink.write(chunk)
            await sink.drain()


HOP_BY_HOP = {b"connection", b"proxy-connection", b"keep-alive", b"proxy-authorization"}


def _is_attachment(block: bytes) -> bool:
    for line in block.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-disposition":
            return value.strip().lower().startswith(b"attachment")
    return False


def _withheld_headers(block: bytes) -> bytes:
    """An attachment's headers with an empty body: no length, no chunking, a note why."""
    dropped = HOP_BY_HOP | {b"content-length", b"transfer-encoding", b"content-encoding"}
    lines = [
        line
        for line in block.split(b"\r\n")
        if line and line.split(b":", 1)[0].strip().lower() not in dropped
    ]
    extra = [b"Content-Length: 0", b"X-Hotline-Egress: attachment withheld", b"Connection: close"]
    return b"\r\n".join([*lines, *extra, b"", b""])


def _forward_headers(block: bytes) -> bytes:
    """Headers without hop-by-hop ones, plus `Connection: close`, ending the head."""
    lines = [
        line
        for line in block.split(b"\r\n")
        if line and line.split(b":", 1)[0].strip().lower() not in HOP_BY_HOP
    ]
    return b"\r\n".join([*lines, b"Connection: close", b"", b""])


async def _answer(writer: asyncio.StreamWriter, status: int, event: EgressEvent | None) -> None:
    reason = {400: "Bad Request", 403: "Forbidden", 502: "Bad Gateway"}.get(status, "Error")
    what = f"{event.decision}: {event.reason}" if event else "refused"
    body = f"Hotline egress point: {what}\n".encode("utf-8", "replace")
    writer.write(
        f"HTTP/1.1 {status} {reason}\r\nContent-Type: text/plain; charset=utf-8\r\n"
        f"X-Hotline-Egress: {status}\r\nContent-Length: {len(body)}\r\n"
        "Connection: close\r\n\r\n".encode()
        + body
    )
    with contextlib.suppress(OSError):
        await writer.drain()
