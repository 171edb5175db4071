"""RDAP for domains and IP networks: registrar, abuse e-mail, network name and country.

Requests leave through the capture's egress point (`EgressProxy`), so the same policy decides what
may be reached. A small bootstrap ships with the code and options override it: domains by TLD
(KazNIC publishes no RDAP service that we know of, so .kz/.қаз have none and WHOIS answers),
IP addresses by the five regional registries, RIPE NCC (Kazakhstan's) first.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import quote

import httpx

from crawler.egress import EgressProxy
from crawler.enrichment.errors import RdapError

DOMAIN_RDAP_BASES: dict[str, str] = {
    "com": "https://rdap.verisign.com/com/v1/",
    "net": "https://rdap.verisign.com/net/v1/",
}
IP_RDAP_BASES: tuple[str, ...] = (
    "https://rdap.db.ripe.net/",
    "https://rdap.arin.net/registry/",
    "https://rdap.apnic.net/",
    "https://rdap.lacnic.net/rdap/",
    "https://rdap.afrinic.net/rdap/",
)
MAX_RESPONSE_BYTES = 1024 * 1024
MAX_REDIRECTS = 3
DEFAULT_TIMEOUT_S = 5.0
_ACCEPT = "application/rdap+json, application/json;q=0.9"


@dataclass
class RdapFacts:
    """The parts of an RDAP answer the hotline uses; `url` is where they came from."""

    url: str
    kind: str  # "domain" or "ip network"
    handle: str | None = None
    name: str | None = None  # the network's name (IP) or the domain's name
    registrar: str | None = None
    registrant: str | None = None
    abuse_emails: list[str] = field(default_factory=list)
    country: str | None = None
    network_range: str | None = None
    events: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def domain_base(tld: str, overrides: dict[str, str] | None = None) -> str | None:
    """The RDAP base URL for a TLD (ASCII form), or None when there is none."""
    bases = {**DOMAIN_RDAP_BASES, **{k.lower().strip("."): v for k, v in (overrides or {}).items()}}
    return bases.get(tld.lower()) or None


def _vcard(entity: dict[str, Any]) -> tuple[str | None, list[str]]:
    """Full name and e-mail addresses from an entity's jCard (RFC 7095), ignoring odd shapes."""
    full_name, emails = None, []
    card = entity.get("vcardArray")
    if isinstance(card, list) and len(card) == 2 and isinstance(card[1], list):
        for prop in card[1]:
            if not isinstance(prop, list) or len(prop) < 4 or not isinstance(prop[3], str):
                continue
            if prop[0] == "fn" and prop[3].strip():
                full_name = prop[3].strip()
            elif prop[0] == "email" and "@" in prop[3]:
                emails.append(prop[3].strip().removeprefix("mailto:"))
    return full_name, emails


def _entities(node: dict[str, Any], depth: int = 0) -> list[dict[str, Any]]:
    """Every entity in an answer, nested ones too (a registrar's abuse contact sits inside it)."""
    found: list[dict[str, Any]] = []
    children = node.get("entities")
    if depth > 5 or not isinstance(children, list):
        return found
    for child in children:
        if isinstance(child, dict):
            found.append(child)
            found.extend(_entities(child, depth + 1))
    return found


def parse_rdap(data: object, url: str, kind: str) -> RdapFacts:
    """The hotline's facts from one RDAP object; raises `RdapError` when it is not one."""
    if not isinstance(data, dict):
        raise RdapError(f"{url}: the answer is not an RDAP object")
    if "errorCode" in data and "objectClassName" not in data:
        title = data.get("title") or data.get("description") or "error"
        raise RdapError(f"{url}: RDAP error {data.get('errorCode')}: {title}")
    facts = RdapFacts(url=url, kind=kind)
    handle, name = data.get("handle"), data.get("name") or data.get("ldhName")
    facts.handle = handle if isinstance(handle, str) else None
    facts.name = name if isinstance(name, str) else None
    country = data.get("country")
    facts.country = country.upper() if isinstance(country, str) and len(country) == 2 else None
    start, end = data.get("startAddress"), data.get("endAddress")
    if isinstance(start, str) and isinstance(end, str):
        facts.network_range = f"{start} - {end}"
    for entity in _entities(data):
        roles = entity.get("roles")
        roles = {r for r in roles if isinstance(r, str)} if isinstance(roles, list) else set()
        full_name, emails = _vcard(entity)
        if "registrar" in roles and facts.registrar is None:
            facts.registrar = full_name or _public_id(entity)
        if "registrant" in roles and facts.registrant is None:
            facts.registrant = full_name
        if "abuse" in roles:
            facts.abuse_emails.extend(e for e in emails if e not in facts.abuse_emails)
    events = data.get("events")
    for event in events if isinstance(events, list) else []:
        if isinstance(event, dict):
            action, date = event.get("eventAction"), event.get("eventDate")
            if isinstance(action, str) and isinstance(date, str):
                facts.events.setdefault(action, date)
    return facts


def _public_id(entity: dict[str, Any]) -> str | None:
    handle = entity.get("handle")
    return handle if isinstance(handle, str) else None


async def _fetch(client: httpx.AsyncClient, url: str) -> tuple[int, bytes]:
    async with client.stream("GET", url, headers={"Accept": _ACCEPT}) as response:
        body = bytearray()
        async for chunk in response.aiter_bytes():
            body += chunk
            if len(body) > MAX_RESPONSE_BYTES:
                raise RdapError(f"{url}: answer larger than {MAX_RESPONSE_BYTES} bytes")
        return response.status_code, bytes(body)


def _client(proxy: EgressProxy | None, timeout: float) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        proxy=proxy.url if proxy else None,
        trust_env=False,
        timeout=httpx.Timeout(timeout),
        follow_redirects=True,
        max_redirects=MAX_REDIRECTS,
        headers={"User-Agent": "kaznet-hotline-enrichment/1"},
    )


def _egress_reason(proxy: EgressProxy | None, url: str) -> str:
    """Why the egress point did not let a request out, when it was its doing."""
    events = proxy.events_for(url) if proxy else []
    if events and events[-1].decision != "allowed":
        return f" (egress point: {events[-1].decision}: {events[-1].reason})"
    return ""


async def _query(
    client: httpx.AsyncClient, url: str, kind: str, proxy: EgressProxy | None
) -> RdapFacts | None:
    """One RDAP object, None when the server does not know it (404)."""
    try:
        status, body = await _fetch(client, url)
    except httpx.TimeoutException:
        raise RdapError(f"{url}: no answer in time") from None
    except httpx.HTTPError as exc:
        why = _egress_reason(proxy, url)
        raise RdapError(f"{url}: {type(exc).__name__}: {exc}{why}") from None
    if status == 404:
        return None
    if status != 200:
        detail = body[:200].decode("utf-8", "replace").strip()
        raise RdapError(f"{url}: HTTP {status}" + (f" ({detail})" if detail else ""))
    try:
        data = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise RdapError(f"{url}: the answer is not valid JSON ({exc})") from None
    return parse_rdap(data, url, kind)


async def rdap_domain(
    domain: str, base: str, *, proxy: EgressProxy | None, timeout: float = DEFAULT_TIMEOUT_S
) -> RdapFacts | None:
    """The registry's RDAP record of a domain (ASCII form); None when it is not registered.

    `proxy` is the egress point every request leaves through (None only for tests of parsing).
    """
    url = base.rstrip("/") + "/domain/" + quote(domain.lower(), safe="")
    async with _client(proxy, timeout) as client:
        return await _query(client, url, "domain", proxy)


async def rdap_ip(
    ip: str,
    bases: tuple[str, ...] | list[str] = IP_RDAP_BASES,
    *,
    proxy: EgressProxy | None,
    timeout: float = DEFAULT_TIMEOUT_S,
) -> RdapFacts | None:
    """The network holding `ip`: registries are asked in order until one knows it."""
    failures = []
    async with _client(proxy, timeout) as client:
        for base in bases:
            url = base.rstrip("/") + "/ip/" + quote(ip, safe=":.")
            try:
                facts = await _query(client, url, "ip network", proxy)
            except RdapError as exc:
                failures.append(str(exc))
                continue
            if facts is not None:
                return facts
    if failures:
        raise RdapError("; ".join(failures))
    return None
