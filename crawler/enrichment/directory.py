"""A curated, editable directory of Kazakhstani hosting providers, networks and registrars.

The shipped list (`kz_hosting.json`) holds only facts we are sure of; an unknown abuse address is
null with a "fill in" note, never a guess. Operators extend or correct it with their own file of
the same shape: an entry with a known `id` updates only the fields it gives (`"remove": true`
drops it), an entry with a new `id` is added.
"""

from __future__ import annotations

import ipaddress
import json
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from crawler.enrichment.errors import DirectoryError

IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
ROLES = frozenset({"hosting", "isp", "registrar", "registry", "cloud", "mobile"})
_LIST_FIELDS = ("roles", "asns", "ip_ranges", "as_org_names", "registrar_names")


def name_key(name: str) -> str:
    """A company name in one spelling for matching: `LLP "Kompaniya Hoster.KZ"` ~ `hoster.kz`."""
    return re.sub(r"[\W_]+", " ", name.casefold()).strip()


@dataclass(frozen=True)
class Provider:
    """One company in the directory, and how to recognise it."""

    id: str
    name: str
    roles: tuple[str, ...] = ()
    website: str | None = None
    country: str | None = "KZ"
    asns: tuple[int, ...] = ()
    ip_ranges: tuple[IpNetwork, ...] = ()
    as_org_names: tuple[str, ...] = ()  # as the AS organisation is spelled in IP databases
    registrar_names: tuple[str, ...] = ()  # as the registrar is spelled in WHOIS/RDAP answers
    abuse_contact: str | None = None
    source: str | None = None
    note: str | None = None

    def summary(self) -> dict[str, object]:
        return {
            "id": self.id,
            "name": self.name,
            "website": self.website,
            "abuse_contact": self.abuse_contact,
            "note": self.note,
        }


@dataclass(frozen=True)
class Match:
    provider: Provider
    by: str  # "asn", "ip range", "AS organisation", "registrar name"


@dataclass
class Directory:
    providers: list[Provider] = field(default_factory=list)

    @classmethod
    def load(cls, path: Path | str | None = None) -> Directory:
        """The shipped directory, extended or corrected by the operator's file at `path`."""
        shipped = resources.files("crawler.enrichment").joinpath("kz_hosting.json")
        entries = _entries(shipped.read_text(encoding="utf-8"), "the shipped kz_hosting.json")
        if path is not None:
            try:
                text = Path(path).read_text(encoding="utf-8")
            except (OSError, UnicodeError) as exc:
                raise DirectoryError(f"cannot read the hosting directory {path}: {exc}") from None
            entries = _merge(entries, _entries(text, str(path)))
        where = str(path) if path else "kz_hosting.json"
        return cls([_provider(raw, where) for raw in entries.values()])

    def by_asn(self, asn: int) -> Provider | None:
        return next((p for p in self.providers if asn in p.asns), None)

    def by_ip(self, ip: str) -> Provider | None:
        """The provider whose listed range is the most specific one holding `ip`."""
        try:
            address = ipaddress.ip_address(ip)
        except ValueError:
            return None
        best: tuple[int, Provider] | None = None
        for provider in self.providers:
            for network in provider.ip_ranges:
                inside = address.version == network.version and address in network
                if inside and (best is None or network.prefixlen > best[0]):
                    best = (network.prefixlen, provider)
        return best[1] if best else None

    def by_as_org(self, as_org: str) -> Provider | None:
        key = name_key(as_org)
        return next(
            (p for p in self.providers if key in {name_key(n) for n in p.as_org_names}), None
        )

    def by_registrar(self, registrar: str) -> Provider | None:
        key = name_key(registrar)
        if not key:
            return None
        for provider in self.providers:
            names = {name_key(n) for n in (*provider.registrar_names, provider.name)}
            if "registrar" in provider.roles and key in names:
                return provider
        return None

    def match_network(self, *, ip: str | None, asn: int | None, as_org: str | None) -> Match | None:
        """Who runs the network of a server: by AS number, then IP range, then AS organisation."""
        if asn is not None and (provider := self.by_asn(asn)):
            return Match(provider, "asn")
        if ip and (provider := self.by_ip(ip)):
            return Match(provider, "ip range")
        if as_org and (provider := self.by_as_org(as_org)):
            return Match(provider, "AS organisation")
        return None


def _entries(text: str, where: str) -> dict[str, dict[str, Any]]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DirectoryError(f"{where} is not valid JSON: {exc}") from None
    raw = data.get("providers") if isinstance(data, dict) else None
    if not isinstance(raw, list):
        raise DirectoryError(f'{where} must be an object with a "providers" list')
    entries: dict[str, dict[str, Any]] = {}
    for index, entry in enumerate(raw):
        if not isinstance(entry, dict) or not isinstance(entry.get("id"), str) or not entry["id"]:
            raise DirectoryError(f'{where}: provider #{index + 1} needs a non-empty string "id"')
        if entry["id"] in entries:
            raise DirectoryError(f"{where}: provider id {entry['id']!r} appears twice")
        entries[entry["id"]] = entry
    return entries


def _merge(
    base: dict[str, dict[str, Any]], extra: dict[str, dict[str, Any]]
) -> dict[str, dict[str, Any]]:
    merged = {key: dict(value) for key, value in base.items()}
    for key, entry in extra.items():
        if entry.get("remove") is True:
            merged.pop(key, None)
        else:
            merged[key] = {**merged.get(key, {}), **entry}
    return merged


def _strings(raw: dict[str, Any], name: str, where: str) -> tuple[str, ...]:
    value = raw.get(name) or []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise DirectoryError(f"{where}: {raw['id']}.{name} must be a list of strings")
    return tuple(value)


def _optional(raw: dict[str, Any], name: str, where: str) -> str | None:
    value = raw.get(name)
    if value is not None and not isinstance(value, str):
        raise DirectoryError(f"{where}: {raw['id']}.{name} must be a string or null")
    return value


def _provider(raw: dict[str, Any], where: str) -> Provider:
    ident = raw["id"]
    name = raw.get("name")
    if not isinstance(name, str) or not name:
        raise DirectoryError(f'{where}: provider {ident!r} needs a "name"')
    roles = _strings(raw, "roles", where)
    unknown = sorted(set(roles) - ROLES)
    if unknown:
        raise DirectoryError(f"{where}: {ident}.roles has unknown {unknown}; use {sorted(ROLES)}")
    asns = raw.get("asns") or []
    if not isinstance(asns, list) or not all(
        isinstance(a, int) and not isinstance(a, bool) and 0 < a < 2**32 for a in asns
    ):
        raise DirectoryError(f"{where}: {ident}.asns must be a list of AS numbers (integers)")
    try:
        ranges = tuple(
            ipaddress.ip_network(r, strict=False) for r in _strings(raw, "ip_ranges", where)
        )
    except ValueError as exc:
        raise DirectoryError(f"{where}: {ident}.ip_ranges has a bad network: {exc}") from None
    return Provider(
        id=ident,
        name=name,
        roles=roles,
        website=_optional(raw, "website", where),
        country=_optional(raw, "country", where),
        asns=tuple(asns),
        ip_ranges=ranges,
        as_org_names=_strings(raw, "as_org_names", where),
        registrar_names=_strings(raw, "registrar_names", where),
        abuse_contact=_optional(raw, "abuse_contact", where),
        source=_optional(raw, "source", where),
        note=_optional(raw, "note", where),
    )
