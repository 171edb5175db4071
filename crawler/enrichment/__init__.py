"""The site's technical characteristics ("enrichment") for one captured URL.

`enrich(url, server_ip, options)` gives registrable domain and IDN forms, DNS records, the
server's AS and country (offline database), hosting provider and abuse contact, registrar, and
the jurisdiction: Kaznet (.kz, .қаз, or a server in Kazakhstan) or foreign. Network look-ups
(DNS, RDAP through the egress point, WHOIS) each have a time limit inside one total budget; a
source that fails is recorded in `Enrichment.errors` and the others still fill their fields.
"""

from __future__ import annotations

from crawler.enrichment.directory import Directory, Provider
from crawler.enrichment.dns import DnsRecords
from crawler.enrichment.domain import DomainInfo, describe_host, describe_url, to_ascii, to_unicode
from crawler.enrichment.errors import (
    DirectoryError,
    DnsError,
    DomainError,
    EnrichmentError,
    IpInfoError,
    RdapError,
    WhoisError,
)
from crawler.enrichment.ipinfo import IpInfo, lookup_ip
from crawler.enrichment.jurisdiction import Jurisdiction, decide
from crawler.enrichment.model import Enrichment, EnrichOptions, SourceError
from crawler.enrichment.pipeline import enrich, enrich_async
from crawler.enrichment.rdap import RdapFacts
from crawler.enrichment.whois import WhoisFacts

__all__ = [
    "Directory",
    "DirectoryError",
    "DnsError",
    "DnsRecords",
    "DomainError",
    "DomainInfo",
    "EnrichOptions",
    "Enrichment",
    "EnrichmentError",
    "IpInfo",
    "IpInfoError",
    "Jurisdiction",
    "Provider",
    "RdapError",
    "RdapFacts",
    "SourceError",
    "WhoisError",
    "WhoisFacts",
    "decide",
    "describe_host",
    "describe_url",
    "enrich",
    "enrich_async",
    "lookup_ip",
    "to_ascii",
    "to_unicode",
]
