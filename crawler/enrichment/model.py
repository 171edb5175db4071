"""The enrichment's options and result: plain dataclasses, JSON through `as_dict()`."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from crawler.egress import EgressPolicy
from crawler.enrichment.directory import Provider
from crawler.enrichment.dns import DnsRecords
from crawler.enrichment.domain import DomainInfo
from crawler.enrichment.ipinfo import IpInfo
from crawler.enrichment.rdap import RdapFacts
from crawler.enrichment.whois import MAX_ANSWER_BYTES, WhoisFacts

SOURCES = frozenset({"dns", "rdap_domain", "rdap_ip", "whois"})


@dataclass(frozen=True)
class EnrichOptions:
    """How to look a site up. Every network source can be switched off; `offline` skips them all.

    `rdap_bases` / `whois_servers` map a TLD (ASCII, e.g. `kz`, `xn--80ao21a`) to a server and
    extend the shipped tables (an empty string removes an entry); `whois_server` (host[:port])
    answers every WHOIS question; `rdap_ip_bases` replaces the list of registries asked for IPs.
    """

    egress_policy: EgressPolicy = field(default_factory=EgressPolicy)
    offline: bool = False
    disabled_sources: frozenset[str] = frozenset()
    dns_servers: tuple[str, ...] | None = None  # None: the system's resolvers
    dns_port: int = 53
    rdap_bases: dict[str, str] = field(default_factory=dict)
    rdap_ip_bases: tuple[str, ...] | None = None
    whois_server: str | None = None
    whois_servers: dict[str, str] = field(default_factory=dict)
    whois_max_bytes: int = MAX_ANSWER_BYTES
    country_mmdb: Path | None = None  # GeoLite2/GeoIP2 Country or City
    asn_mmdb: Path | None = None  # GeoLite2/GeoIP2 ASN
    bundled_ip_db: bool = True
    directory_path: Path | None = None
    total_timeout: float = 10.0
    dns_timeout: float = 3.0
    rdap_timeout: float = 5.0
    whois_timeout: float = 5.0

    def wants(self, source: str) -> bool:
        return not self.offline and source not in self.disabled_sources


@dataclass(frozen=True)
class SourceError:
    source: str  # "domain", "directory", "ipinfo", "dns", "rdap_domain", "rdap_ip", "whois"
    error: str

    def as_dict(self) -> dict[str, str]:
        return {"source": self.source, "error": self.error}


@dataclass
class Enrichment:
    """The site's technical characteristics; every field may be empty, `errors` says why."""

    url: str
    looked_up_at: str  # UTC, ISO 8601
    domain: DomainInfo | None = None
    dns: DnsRecords = field(default_factory=DnsRecords)
    ip: str | None = None
    ip_source: str | None = None  # "capture", "url" or "dns"
    ip_info: IpInfo | None = None
    country: str | None = None
    country_name: str | None = None
    country_source: str | None = None  # "ip database" or "rdap"
    jurisdiction: str = "unknown"  # "kaznet", "foreign" or "unknown"
    jurisdiction_reason: str = ""
    hosting_provider: str | None = None
    hosting_provider_source: str | None = None  # "directory", "ip database" or "rdap"
    directory_entry: Provider | None = None
    directory_match: str | None = None
    abuse_contact: str | None = None
    abuse_contact_source: str | None = None  # "directory", "rdap" or "whois"
    abuse_contact_for: str | None = None  # "hosting" or "registrar"
    registrar: str | None = None
    registrar_source: str | None = None  # "rdap" or "whois"
    registrar_entry: Provider | None = None
    rdap_domain: RdapFacts | None = None
    rdap_ip: RdapFacts | None = None
    whois: WhoisFacts | None = None
    errors: list[SourceError] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    duration_s: float = 0.0

    def fail(self, source: str, error: BaseException | str) -> None:
        self.errors.append(SourceError(source, str(error) or type(error).__name__))

    def errors_of(self, source: str) -> list[str]:
        return [e.error for e in self.errors if e.source == source]

    def as_dict(self) -> dict[str, object]:
        domain, info = self.domain, self.ip_info
        return {
            "url": self.url,
            "host": domain.host if domain else None,
            "host_unicode": domain.host_unicode if domain else None,
            "registrable_domain": domain.registrable_domain if domain else None,
            "registrable_domain_unicode": domain.registrable_domain_unicode if domain else None,
            "public_suffix": domain.public_suffix if domain else None,
            "public_suffix_unicode": domain.public_suffix_unicode if domain else None,
            "hosted_under": domain.hosted_under if domain else None,
            "kz_domain": domain.is_kz if domain else False,
            "dns": self.dns.as_dict(),
            "ip": self.ip,
            "ip_source": self.ip_source,
            "asn": info.asn if info else None,
            "as_org": info.as_org if info else None,
            "as_network": info.as_network if info else None,
            "ip_data_source": info.source if info else None,
            "ip_note": info.note if info else None,
            "country": self.country,
            "country_name": self.country_name,
            "country_source": self.country_source,
            "jurisdiction": self.jurisdiction,
            "jurisdiction_reason": self.jurisdiction_reason,
            "hosting_provider": self.hosting_provider,
            "hosting_provider_source": self.hosting_provider_source,
            "directory_entry": self.directory_entry.summary() if self.directory_entry else None,
            "directory_match": self.directory_match,
            "abuse_contact": self.abuse_contact,
            "abuse_contact_source": self.abuse_contact_source,
            "abuse_contact_for": self.abuse_contact_for,
            "registrar": self.registrar,
            "registrar_source": self.registrar_source,
            "registrar_entry": self.registrar_entry.summary() if self.registrar_entry else None,
            "rdap": {
                "domain": self.rdap_domain.as_dict() if self.rdap_domain else None,
                "ip": self.rdap_ip.as_dict() if self.rdap_ip else None,
            },
            "whois": self.whois.as_dict() if self.whois else None,
            "errors": [e.as_dict() for e in self.errors],
            "skipped": list(self.skipped),
            "looked_up_at": self.looked_up_at,
            "duration_s": round(self.duration_s, 3),
        }
