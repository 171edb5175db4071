"""WHOIS over TCP port 43, with a time limit and a size cap, through the egress policy.

The server's address is checked with `EgressPolicy.resolve` and the connection goes to exactly
the address it returned. The parser reads the common `key: value` styles, whois.nic.kz's dotted
one (`Name...........: x`, `Current Registar: HOSTER.KZ`) and RIPE's abuse comment line.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from dataclasses import asdict, dataclass, field

from crawler.egress import EgressPolicy, Unresolved
from crawler.enrichment.errors import WhoisError

WHOIS_PORT = 43
MAX_ANSWER_BYTES = 256 * 1024
DEFAULT_TIMEOUT_S = 5.0
IANA_WHOIS = "whois.iana.org"
WHOIS_SERVERS: dict[str, str] = {
    "kz": "whois.nic.kz",
    "xn--80ao21a": "whois.nic.kz",  # .қаз, run by the same registry
    "com": "whois.verisign-grs.com",
    "net": "whois.verisign-grs.com",
}

_EMAIL = re.compile(r"[\w.+'-]+@[\w-]+(?:\.[\w-]+)+")
_LINE = re.compile(r"^\s*([^:%#>][^:]{0,60}?)[\s.]*:\s*(.*?)\s*$")
_RIPE_ABUSE = re.compile(r"abuse contact for .* is '([^']+)'", re.IGNORECASE)
_REGISTRAR_KEYS = (
    "current registar",  # whois.nic.kz spells it so
    "current registrar",
    "registrar",
    "registrar name",
    "sponsoring registrar",
    "registrar organization",
    "registar created",
    "registrar created",
)
_ABUSE_KEYS = {
    "registrar abuse contact email",
    "abuse-mailbox",
    "orgabuseemail",
    "abuse contact email",
    "abuse email",
    "abuse e-mail",
    "abuse",
}
_REFERRAL_KEYS = ("refer", "whois", "registrar whois server", "whois server")


@dataclass
class WhoisFacts:
    """What a WHOIS answer says that the hotline uses; `text` is the (capped) answer itself."""

    server: str
    address: str | None = None
    registrar: str | None = None
    abuse_emails: list[str] = field(default_factory=list)
    contact_emails: list[str] = field(default_factory=list)  # owner/admin, not abuse desks
    referral: str | None = None
    truncated: bool = False
    text: str = ""

    def as_dict(self) -> dict[str, object]:
        data = asdict(self)
        data["text"] = self.text[:4000]
        return data


def split_server(server: str) -> tuple[str, int]:
    """`host`, `host:port` or `[v6]:port` → (host, port)."""
    text = server.strip()
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        return host, int(rest.lstrip(":") or WHOIS_PORT)
    if text.count(":") == 1:
        host, _, port = text.partition(":")
        return host, int(port)
    return text, WHOIS_PORT


def server_for(domain: str, overrides: dict[str, str] | None = None) -> str | None:
    tld = domain.lower().rstrip(".").rsplit(".", 1)[-1]
    servers = {**WHOIS_SERVERS, **{k.lower().strip("."): v for k, v in (overrides or {}).items()}}
    return servers.get(tld) or None


def _decode(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("cp1251", "replace")  # older Russian-language registries


async def query(
    text: str,
    server: str,
    policy: EgressPolicy,
    *,
    timeout: float = DEFAULT_TIMEOUT_S,
    max_bytes: int = MAX_ANSWER_BYTES,
) -> WhoisFacts:
    """Ask `server` (host[:port]) about `text`; the answer is read until EOF or `max_bytes`."""
    host, port = split_server(server)
    try:
        allowed, refused = await policy.resolve(host, port)
    except Unresolved as exc:
        raise WhoisError(f"{server}: {exc}") from None
    if not allowed:
        raise WhoisError(f"{server}: refused by the egress policy ({'; '.join(refused)})")
    address, address_port = allowed[0]
    try:
        raw, truncated = await asyncio.wait_for(
            _exchange(address, address_port, text, max_bytes), timeout
        )
    except TimeoutError:
        raise WhoisError(f"{server}: no complete answer within {timeout:g} s") from None
    except OSError as exc:
        raise WhoisError(f"{server} ({address}): {exc}") from None
    facts = parse_whois(_decode(raw), server)
    facts.address, facts.truncated = address, truncated
    return facts


async def _exchange(address: str, port: int, text: str, max_bytes: int) -> tuple[bytes, bool]:
    reader, writer = await asyncio.open_connection(address, port)
    try:
        writer.write(text.encode("utf-8") + b"\r\n")
        await writer.drain()
        raw = bytearray()
        while len(raw) <= max_bytes:
            chunk = await reader.read(65536)
            if not chunk:
                return bytes(raw), False
            raw += chunk
        return bytes(raw[:max_bytes]), True
    finally:
        writer.transport.abort()
        with contextlib.suppress(Exception):
            await writer.wait_closed()


def parse_whois(text: str, server: str = "") -> WhoisFacts:
    facts = WhoisFacts(server=server, text=text)
    registrars: dict[str, str] = {}
    for line in text.splitlines():
        ripe = _RIPE_ABUSE.search(line)
        if ripe and _EMAIL.fullmatch(ripe.group(1)):
            _add(facts.abuse_emails, ripe.group(1))
            continue
        match = _LINE.match(line)
        if not match or not match.group(2):
            continue
        key, value = re.sub(r"\s+", " ", match.group(1).strip(" .").lower()), match.group(2)
        emails = _EMAIL.findall(value)
        if key in _REGISTRAR_KEYS and not _EMAIL.fullmatch(value):
            registrars.setdefault(key, value)
        elif key in _ABUSE_KEYS or ("abuse" in key and emails):
            for email in emails:
                _add(facts.abuse_emails, email)
        elif key in _REFERRAL_KEYS and facts.referral is None and " " not in value:
            facts.referral = value.lower().removeprefix("whois://")
        elif emails and ("mail" in key or key == "e-mail"):
            for email in emails:
                _add(facts.contact_emails, email)
    facts.registrar = next((registrars[k] for k in _REGISTRAR_KEYS if k in registrars), None)
    return facts


def _add(bucket: list[str], email: str) -> None:
    email = email.strip().lower()
    if email not in bucket:
        bucket.append(email)


async def whois_domain(
    domain: str,
    policy: EgressPolicy,
    *,
    server: str | None = None,
    servers: dict[str, str] | None = None,
    timeout: float = DEFAULT_TIMEOUT_S,
    max_bytes: int = MAX_ANSWER_BYTES,
) -> WhoisFacts:
    """WHOIS for a registrable domain (ASCII form): the given server, the TLD's, or IANA's referral.

    `timeout` bounds the whole look-up, referral included.
    """

    async def run() -> WhoisFacts:
        target = server or server_for(domain, servers)
        if target is None:
            referral = await query(domain.rsplit(".", 1)[-1], IANA_WHOIS, policy)
            if not referral.referral:
                raise WhoisError(f"IANA names no WHOIS server for the TLD of {domain}")
            target = referral.referral
        return await query(domain, target, policy, timeout=timeout, max_bytes=max_bytes)

    try:
        return await asyncio.wait_for(run(), timeout)
    except TimeoutError:
        raise WhoisError(f"no WHOIS answer for {domain} within {timeout:g} s") from None
