"""IP address → AS number, AS organisation and country, from local databases only.

By default the database bundled with the `geoip2fast` package (MaxMind GeoLite2 country + ASN
data, IPv4 and IPv6, loaded once per process, ~0.4 s): it has the AS *organisation* and the AS
network, but not the AS *number*. An operator may point to MaxMind-format files (`.mmdb`:
GeoLite2/GeoIP2 Country or City, and ASN); what they know wins, the bundled data fills the gaps.
Addresses that are not on the public internet get no data, with the reason.
"""

from __future__ import annotations

import functools
import ipaddress
import threading
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from crawler.egress import refusal
from crawler.enrichment.errors import IpInfoError

BUNDLED_FILE = "geoip2fast-asn-ipv6.dat.gz"
_NO_DATA = {"", "--", "<unknown>", "IANA.ORG"}


@dataclass(frozen=True)
class IpInfo:
    """What the local databases say about one address; `note` says why a field is empty."""

    ip: str
    public: bool
    asn: int | None = None
    as_org: str | None = None
    as_network: str | None = None
    country: str | None = None  # ISO 3166-1 alpha-2
    country_name: str | None = None
    source: str | None = None
    note: str | None = None

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


class _Bundled:
    """The geoip2fast database: module-level state in that package, so loaded once, under a lock."""

    _lock = threading.Lock()
    _instance: Any = None
    source = "geoip2fast bundled GeoLite2 data"

    @classmethod
    def get(cls) -> Any:
        with cls._lock:
            if cls._instance is None:
                try:
                    import geoip2fast
                except ImportError as exc:
                    raise IpInfoError(f"the geoip2fast package is not installed ({exc})") from None
                # An absolute path: given a bare name the package looks in the working directory
                # first, and its files are pickles.
                data_file = Path(geoip2fast.__file__).resolve().parent / BUNDLED_FILE
                try:
                    cls._instance = geoip2fast.GeoIP2Fast(geoip2fast_data_file=str(data_file))
                except Exception as exc:  # the package raises its own GeoIPError or anything else
                    raise IpInfoError(f"cannot load the bundled IP database: {exc}") from None
                cls.source = f"geoip2fast ({cls._instance.source_info})"
            return cls._instance


def bundled_database_info() -> str:
    """Which data the bundled database carries (source and date), loading it if needed."""
    _Bundled.get()
    return _Bundled.source


@functools.lru_cache(maxsize=8)
def _mmdb(path: str) -> Any:
    try:
        import maxminddb
    except ImportError as exc:
        raise IpInfoError(f"the maxminddb package is not installed ({exc})") from None
    try:
        return maxminddb.open_database(path)
    except (OSError, ValueError) as exc:  # InvalidDatabaseError is a RuntimeError subclass too
        raise IpInfoError(f"cannot open the MaxMind database {path}: {exc}") from None
    except RuntimeError as exc:
        raise IpInfoError(f"{path} is not a valid MaxMind database: {exc}") from None


def _mmdb_record(path: Path | str, ip: str) -> dict[str, Any]:
    reader = _mmdb(str(path))
    try:
        record, prefix = reader.get_with_prefix_len(ip)
    except ValueError:  # an IPv6 address in an IPv4-only file
        return {}
    except RuntimeError as exc:
        raise IpInfoError(f"{path} is damaged: {exc}") from None
    if not isinstance(record, dict):
        return {}
    result = dict(record)
    result["_network"] = str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False))
    return result


def _country_from(record: dict[str, Any]) -> tuple[str | None, str | None]:
    for key in ("country", "registered_country"):
        value = record.get(key)
        if isinstance(value, dict) and isinstance(value.get("iso_code"), str):
            names = value.get("names")
            name = names.get("en") if isinstance(names, dict) else None
            return value["iso_code"], name if isinstance(name, str) else None
    return None, None


def normalize_ip(ip: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    """An address in one spelling; IPv4 mapped into IPv6 (`::ffff:1.2.3.4`) becomes IPv4."""
    try:
        address = ipaddress.ip_address(ip.strip().strip("[]").split("%")[0])
    except ValueError:
        raise IpInfoError(f"{ip[:100]!r} is not an IP address") from None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def lookup_ip(
    ip: str,
    *,
    country_mmdb: Path | str | None = None,
    asn_mmdb: Path | str | None = None,
    use_bundled: bool = True,
) -> IpInfo:
    """AS and country of an address from local files; no network traffic, ever."""
    address = normalize_ip(ip)
    text = str(address)
    reason = refusal(address)
    if reason:
        return IpInfo(text, False, note=f"{reason}: not on the public internet, no data")
    asn = as_org = as_network = country = country_name = None
    sources: list[str] = []
    if asn_mmdb:
        record = _mmdb_record(asn_mmdb, text)
        if record:
            number = record.get("autonomous_system_number")
            asn = number if isinstance(number, int) else None
            org = record.get("autonomous_system_organization")
            as_org = org if isinstance(org, str) else None
            as_network = record.get("_network")
            sources.append(f"ASN from {Path(asn_mmdb).name}")
    if country_mmdb:
        record = _mmdb_record(country_mmdb, text)
        country, country_name = _country_from(record)
        if country:
            sources.append(f"country from {Path(country_mmdb).name}")
    if use_bundled and (as_org is None or country is None):
        detail = _Bundled.get().lookup(text)
        filled = []
        if as_org is None and detail.asn_name not in _NO_DATA:
            as_org, as_network = detail.asn_name, detail.asn_cidr or None
            filled.append("AS organisation")
        if country is None and detail.country_code not in _NO_DATA:
            country, country_name = detail.country_code, detail.country_name or None
            filled.append("country")
        if filled:
            sources.append(f"{' and '.join(filled)} from {_Bundled.source}")
    note = None
    if country is None and as_org is None:
        note = "not found in the local IP databases"
    elif asn is None:
        note = "AS number unknown: the bundled database has AS organisations only"
    return IpInfo(
        ip=text,
        public=True,
        asn=asn,
        as_org=as_org,
        as_network=as_network,
        country=country,
        country_name=country_name,
        source="; ".join(sources) or None,
        note=note,
    )
