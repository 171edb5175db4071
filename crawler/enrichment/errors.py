"""The enrichment's exceptions, one per source, under one base.

    EnrichmentError
    ├── DomainError      a host name that cannot be read (bad IDNA, empty, too long)
    ├── DnsError         no DNS answer (timeout, no nameserver, NXDOMAIN)
    ├── IpInfoError      an IP database that cannot be read, or a malformed address
    ├── DirectoryError   a hosting directory file that is not valid
    ├── RdapError        an RDAP server that failed, refused or answered nonsense
    └── WhoisError       a WHOIS server that failed, refused or stayed silent

Sources raise them; `enrich()` catches every one and records it in `Enrichment.errors`.
"""

from __future__ import annotations


class EnrichmentError(Exception):
    """A source of technical characteristics failed; the message says what and why."""


class DomainError(EnrichmentError, ValueError):
    pass


class DnsError(EnrichmentError):
    pass


class IpInfoError(EnrichmentError):
    pass


class DirectoryError(EnrichmentError):
    pass


class RdapError(EnrichmentError):
    pass


class WhoisError(EnrichmentError):
    pass
