"""Registrable domain, public suffix and IDN forms of a host, from the bundled public-suffix list.

The list ships inside the `publicsuffixlist` package and is never fetched. Lookups run on the
ASCII (punycode) form; the Unicode form is kept for people (`xn--80ao21a` ↔ `қаз`).
"""

from __future__ import annotations

import functools
import ipaddress
from dataclasses import asdict, dataclass
from urllib.parse import urlsplit

import idna
from publicsuffixlist import PublicSuffixList

from crawler.enrichment.errors import DomainError

KZ_TLDS = frozenset({"kz", "xn--80ao21a"})  # .kz and .қаз
MAX_HOST_LENGTH = 253


@dataclass(frozen=True)
class DomainInfo:
    """A host as the hotline reads it: both spellings, its suffix, and whether it is Kazakh."""

    host: str  # ASCII (punycode) form, lower case, no trailing dot; an IP in its usual spelling
    host_unicode: str
    is_ip: bool
    registrable_domain: str | None  # ICANN section: what a registrar sells (example.co.uk)
    registrable_domain_unicode: str | None
    public_suffix: str | None
    public_suffix_unicode: str | None
    hosted_under: str | None  # a platform suffix from the list's private section (github.io)
    tld: str | None
    is_kz: bool  # under .kz or .қаз

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


@functools.cache
def _icann_list() -> PublicSuffixList:
    return PublicSuffixList(only_icann=True)


@functools.cache
def _full_list() -> PublicSuffixList:
    return PublicSuffixList()


def host_of(url: str) -> str:
    """The host part of a URL (a bare `host/path` is read as http); raises `DomainError`."""
    text = url.strip()
    if "://" not in text:
        text = "http://" + text
    try:
        host = urlsplit(text).hostname
    except ValueError as exc:
        raise DomainError(f"cannot read the URL {url[:200]!r}: {exc}") from None
    if not host:
        raise DomainError(f"the URL {url[:200]!r} has no host")
    return host


def to_ascii(host: str) -> str:
    """The punycode spelling of a host name (`dükkan.қаз` → `xn--dkkan-kva.xn--80ao21a`)."""
    name = host.strip().rstrip(".").lower()
    if not name:
        raise DomainError("empty host name")
    labels = []
    for label in name.split("."):
        if not label:
            raise DomainError(f"empty label in host name {host[:200]!r}")
        if label.isascii():
            labels.append(label)
            continue
        try:
            labels.append(idna.encode(label, uts46=True).decode("ascii"))
        except idna.IDNAError:
            try:  # IDNA 2003, as older browsers and registries still accept (ß, some symbols)
                labels.append(label.encode("idna").decode("ascii"))
            except UnicodeError as exc:
                raise DomainError(f"host name {host[:200]!r} is not valid IDNA: {exc}") from None
    ascii_name = ".".join(labels)
    if len(ascii_name) > MAX_HOST_LENGTH:
        raise DomainError(f"host name is longer than {MAX_HOST_LENGTH} characters")
    return ascii_name


def to_unicode(host: str) -> str:
    """The Unicode spelling of a host name (`xn--80ao21a` → `қаз`); undecodable labels stay."""
    labels = []
    for label in host.strip().rstrip(".").lower().split("."):
        if label.startswith("xn--"):
            try:
                labels.append(idna.decode(label))
                continue
            except (idna.IDNAError, UnicodeError):
                pass
        labels.append(label)
    return ".".join(labels)


def _ip_literal(host: str) -> str | None:
    try:
        return str(ipaddress.ip_address(host.strip().strip("[]")))
    except ValueError:
        return None


def describe_host(host: str) -> DomainInfo:
    """Suffix, registrable domain and IDN forms of a host name or IP literal."""
    ip = _ip_literal(host)
    if ip is not None:
        return DomainInfo(ip, ip, True, None, None, None, None, None, None, False)
    ascii_host = to_ascii(host)
    suffix = _icann_list().publicsuffix(ascii_host)
    registrable = _icann_list().privatesuffix(ascii_host)
    platform = _full_list().publicsuffix(ascii_host)
    hosted_under = platform if platform and platform != suffix and "." in platform else None
    tld = ascii_host.rsplit(".", 1)[-1]
    return DomainInfo(
        host=ascii_host,
        host_unicode=to_unicode(ascii_host),
        is_ip=False,
        registrable_domain=registrable,
        registrable_domain_unicode=to_unicode(registrable) if registrable else None,
        public_suffix=suffix,
        public_suffix_unicode=to_unicode(suffix) if suffix else None,
        hosted_under=hosted_under,
        tld=tld,
        is_kz=tld in KZ_TLDS,
    )


def describe_url(url: str) -> DomainInfo:
    return describe_host(host_of(url))
