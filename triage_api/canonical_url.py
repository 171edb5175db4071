"""Canonical form of a reported URL, so reports of one page meet in one case.

Parsing follows what a browser would fetch (WHATWG rules for http/https: backslashes are slashes,
numeric IPv4 shorthands are addresses), so the host we judge is the host Chromium would contact.
"""

from __future__ import annotations

import ipaddress
import re
import string
from dataclasses import dataclass
from urllib.parse import urlsplit

import idna

MAX_URL_LENGTH = 4096
ALLOWED_SCHEMES = {"http": 80, "https": 443}
RESERVED_SUFFIXES = (
    "localhost",
    "local",
    "internal",
    "test",
    "invalid",
    "example",
    "onion",
    "home.arpa",
    "arpa",
    "lan",
    "intranet",
    "corp",
    "localdomain",
)

_SCHEME_RE = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*):")
_LABEL_RE = re.compile(r"^[a-z0-9_](?:[a-z0-9_\-]{0,61}[a-z0-9_])?$")
_TLD_RE = re.compile(r"^(?:[a-z]{2,63}|xn--[a-z0-9\-]{1,59})$")
_HEX = set(string.hexdigits)
_UNRESERVED = set(string.ascii_letters + string.digits + "-._~")
_PATH_SAFE = _UNRESERVED | set("!$&'()*+,;=:@/")
_QUERY_SAFE = _PATH_SAFE | set("?")


class InvalidUrl(ValueError):
    """The reported text is not a URL we can capture; the message says what is wrong."""


@dataclass(frozen=True, slots=True)
class CanonicalUrl:
    url: str
    scheme: str
    host: str  # ASCII (punycode) or an IP literal
    host_unicode: str
    port: int | None  # None when default for the scheme

    @property
    def is_ip(self) -> bool:
        return self.host.startswith("[") or _looks_numeric(self.host.rsplit(".", 1)[-1])


def canonicalize(raw: str) -> CanonicalUrl:
    """Return the canonical URL or raise `InvalidUrl` naming the first problem found."""
    if not isinstance(raw, str):
        raise InvalidUrl("URL must be a string")
    text = raw.strip(" \t\r\n\f\v\x00")
    if not text:
        raise InvalidUrl("URL is empty")
    if len(text) > MAX_URL_LENGTH:
        raise InvalidUrl(f"URL is longer than {MAX_URL_LENGTH} characters")
    bad = next((c for c in text if ord(c) < 0x20 or ord(c) == 0x7F), None)
    if bad is not None:
        raise InvalidUrl(f"URL contains a control character (U+{ord(bad):04X})")

    scheme, rest = _split_scheme(text)
    rest = _browser_slashes(rest).lstrip("/")
    authority = re.split(r"[/?#]", rest, maxsplit=1)[0]
    if authority.startswith("[") and "]" not in authority:
        raise InvalidUrl("IPv6 address is missing its closing ']'")
    try:
        parts = urlsplit(f"{scheme}://{rest}")
    except ValueError as exc:  # urlsplit's own checks: brackets, NFKC look-alikes of '@' or '/'
        raise InvalidUrl(f"URL cannot be parsed: {exc}") from None
    netloc = parts.netloc
    if "@" in netloc:
        raise InvalidUrl("URL must not contain a user name or password")
    host_text, port = _split_port(netloc)
    host, host_unicode = _canonical_host(host_text)
    default_port = ALLOWED_SCHEMES[scheme]
    port = None if port == default_port else port

    path = _normalize_escapes(_remove_dot_segments(parts.path or "/"), _PATH_SAFE)
    query = _normalize_escapes(parts.query, _QUERY_SAFE)
    authority = host if port is None else f"{host}:{port}"
    url = f"{scheme}://{authority}{path}" + (f"?{query}" if query else "")
    if len(url) > MAX_URL_LENGTH:
        raise InvalidUrl(f"URL is longer than {MAX_URL_LENGTH} characters once encoded")
    return CanonicalUrl(url=url, scheme=scheme, host=host, host_unicode=host_unicode, port=port)


def _split_scheme(text: str) -> tuple[str, str]:
    match = _SCHEME_RE.match(text)
    if match:
        scheme = match.group(1).lower()
        rest = text[match.end() :]
        if scheme in ALLOWED_SCHEMES:
            return scheme, rest
        # "example.kz:8080/path" is a host and port without a scheme, not a scheme.
        if "." in scheme and re.match(r"^\d+(?:[/?#]|$)", rest):
            return "http", text
        raise InvalidUrl(f"scheme '{scheme}:' is not allowed; only http and https can be reported")
    if text.startswith("//"):
        return "http", text[2:]
    return "http", text


def _browser_slashes(rest: str) -> str:
    """WHATWG: backslashes are slashes in the authority and path, not in the query or fragment."""
    end = min((i for i in (rest.find("?"), rest.find("#")) if i >= 0), default=len(rest))
    return rest[:end].replace("\\", "/") + rest[end:]


def _split_port(netloc: str) -> tuple[str, int | None]:
    if netloc.startswith("["):
        end = netloc.find("]")
        if end < 0:
            raise InvalidUrl("IPv6 address is missing its closing ']'")
        host, tail = netloc[: end + 1], netloc[end + 1 :]
        if tail and not tail.startswith(":"):
            raise InvalidUrl("unexpected text after the IPv6 address")
        port_text = tail[1:] if tail else ""
    else:
        host, _, port_text = netloc.partition(":")
    if not port_text:
        return host, None
    if not port_text.isdigit() or not port_text.isascii():
        raise InvalidUrl(f"port '{port_text}' is not a number")
    port = int(port_text)
    if not 0 < port <= 65535:
        raise InvalidUrl(f"port {port} is out of range (1-65535)")
    return host, port


def _canonical_host(text: str) -> tuple[str, str]:
    if not text:
        raise InvalidUrl("URL has no host")
    if text.startswith("["):
        return _canonical_ipv6(text[1:-1])
    if "%" in text:
        raise InvalidUrl("host must not contain percent-encoding")
    try:  # UTS 46 mapping first, as browsers do: full-width digits and dots become ASCII
        host = idna.uts46_remap(text, std3_rules=False, transitional=False).lower()
    except (idna.IDNAError, UnicodeError) as exc:
        raise InvalidUrl(f"host '{text}' is not a valid domain name ({exc})") from None
    host = host[:-1] if host.endswith(".") else host  # the root dot names the same host
    last = host.rsplit(".", 1)[-1]
    if host and _looks_numeric(last):
        address = _parse_ipv4(host)
        _require_public(address)
        return str(address), str(address)
    try:
        labels = [_ascii_label(label) for label in host.split(".")]
        unicode_host = ".".join(
            idna.decode(label) if label.startswith("xn--") else label for label in labels
        )
    except (idna.IDNAError, UnicodeError) as exc:
        raise InvalidUrl(f"host '{text}' is not a valid domain name ({exc})") from None
    ascii_host = ".".join(labels)
    _require_dns_name(ascii_host)
    return ascii_host, unicode_host


def _ascii_label(label: str) -> str:
    """Plain ASCII labels pass as they are (browsers accept '_'); others become punycode."""
    if label.isascii() and not label.startswith("xn--"):
        return label
    return idna.alabel(label).decode("ascii")


def _canonical_ipv6(text: str) -> tuple[str, str]:
    if "%" in text:
        raise InvalidUrl("IPv6 zone identifiers are not allowed")
    try:
        address = ipaddress.IPv6Address(text)
    except ValueError:
        raise InvalidUrl(f"'[{text}]' is not a valid IPv6 address") from None
    _require_public(address)
    literal = f"[{address.compressed}]"
    return literal, literal


def _looks_numeric(label: str) -> bool:
    if not label:
        return False
    if label.lower().startswith("0x"):
        return all(c in _HEX for c in label[2:])
    return label.isdigit() and label.isascii()


def _parse_ipv4(host: str) -> ipaddress.IPv4Address:
    """WHATWG IPv4 parsing: 1-4 parts, decimal, octal (leading 0) or hex (0x)."""
    parts = host.split(".")
    if len(parts) > 4:
        raise InvalidUrl(f"host '{host}' is not a valid IPv4 address")
    numbers = []
    for part in parts:
        try:
            if part.lower().startswith("0x"):
                numbers.append(int(part[2:] or "0", 16))
            elif len(part) > 1 and part.startswith("0"):
                numbers.append(int(part, 8))
            else:
                numbers.append(int(part, 10))
        except ValueError:
            raise InvalidUrl(f"host '{host}' is not a valid IPv4 address") from None
    if any(n > 255 for n in numbers[:-1]) or numbers[-1] >= 256 ** (5 - len(numbers)):
        raise InvalidUrl(f"host '{host}' is not a valid IPv4 address")
    value = numbers[-1]
    for index, number in enumerate(numbers[:-1]):
        value += number << (8 * (3 - index))
    return ipaddress.IPv4Address(value)


def _require_public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> None:
    if not address.is_global or address.is_multicast:
        raise InvalidUrl(f"address {address} is not a public IP address")
    for embedded in _embedded_ipv4(address):
        if not embedded.is_global or embedded.is_multicast:
            raise InvalidUrl(f"address {address} embeds {embedded}, not a public IP address")


def _embedded_ipv4(
    address: ipaddress.IPv4Address | ipaddress.IPv6Address,
) -> list[ipaddress.IPv4Address]:
    """IPv4 addresses that an IPv6 address carries (mapped, compatible, NAT64, 6to4)."""
    if not isinstance(address, ipaddress.IPv6Address):
        return []
    value = int(address)
    found = [a for a in (address.ipv4_mapped, address.sixtofour) if a is not None]
    if value >> 32 == 0 or address in ipaddress.IPv6Network("64:ff9b::/96"):
        found.append(ipaddress.IPv4Address(value & 0xFFFFFFFF))
    return found


def _require_dns_name(host: str) -> None:
    if len(host) > 253:
        raise InvalidUrl("host name is longer than 253 characters")
    labels = host.split(".")
    if len(labels) < 2:
        raise InvalidUrl(f"host '{host}' is not a public domain name (it needs a dot and a TLD)")
    if not all(_LABEL_RE.match(label) for label in labels) or not _TLD_RE.match(labels[-1]):
        raise InvalidUrl(f"host '{host}' is not a valid domain name")
    for suffix in RESERVED_SUFFIXES:
        if host == suffix or host.endswith("." + suffix):
            raise InvalidUrl(f"host '{host}' is a reserved name, not a public site")


def _remove_dot_segments(path: str) -> str:
    """RFC 3986 5.2.4, with %2e treated as '.', as browsers do."""
    segments = path.split("/")
    output: list[str] = []
    for index, segment in enumerate(segments[1:], start=1):
        last = index == len(segments) - 1
        folded = segment.lower().replace("%2e", ".")
        if folded == ".":
            if last:
                output.append("")
        elif folded == "..":
            if output:
                output.pop()
            if last:
                output.append("")
        else:
            output.append(segment)
    return "/" + "/".join(output)


def _normalize_escapes(text: str, safe: set[str]) -> str:
    """Upper-case escapes, decode unreserved ones, escape everything else that is unsafe."""
    out: list[str] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char == "%":
            pair = text[i + 1 : i + 3]
            if len(pair) == 2 and all(c in _HEX for c in pair):
                decoded = chr(int(pair, 16))
                out.append(decoded if decoded in _UNRESERVED else "%" + pair.upper())
                i += 3
                continue
            out.append("%25")
        elif char in safe:
            out.append(char)
        else:
            out.extend(f"%{byte:02X}" for byte in char.encode("utf-8", "surrogatepass"))
        i += 1
    return "".join(out)
