"""Which URLs a sweep may fetch: Kaznet by default, that is a host under .kz or .қаз, or a
server in Kazakhstan (the offline address data the enrichment uses; no look-up leaves the
machine). The same rule the jurisdiction of a case follows, so a sweep never wanders into what
the hotline would forward abroad.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from crawler.enrichment.domain import describe_host
from crawler.enrichment.ipinfo import lookup_ip
from crawler.enrichment.jurisdiction import KAZNET, decide

Resolver = Callable[[str], str | None]  # host → an address, or None when it does not resolve


@dataclass
class Scope:
    """A sweep's scope. `kaznet_only` off (an operator's choice) keeps only the scheme check;
    `resolve` gives the server address for hosts outside .kz/.қаз (None: not looked up)."""

    kaznet_only: bool = True
    resolve: Resolver | None = None
    extra_hosts: frozenset[str] = frozenset()  # hosts an operator added on purpose
    _verdicts: dict[str, tuple[bool, str]] = field(default_factory=dict, repr=False)

    def allows(self, url: str) -> bool:
        return self.why(url)[0]

    def why(self, url: str) -> tuple[bool, str]:
        """(in scope, the reason in words), cached per host."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            return False, f"not a web address: {url[:80]}"
        host = parts.hostname.lower().rstrip(".")
        if not self.kaznet_only or host in self.extra_hosts:
            return True, "in the sweep's scope by configuration"
        if host not in self._verdicts:
            self._verdicts[host] = self._judge(host)
        return self._verdicts[host]

    def _judge(self, host: str) -> tuple[bool, str]:
        try:
            info = describe_host(host)
        except ValueError as exc:
            return False, f"not a usable host name: {exc}"
        ip = self.resolve(info.host) if self.resolve and not info.is_kz else None
        country = country_name = None
        if ip:
            found = lookup_ip(ip)
            country, country_name = found.country, found.country_name
        verdict = decide(tld=info.tld, ip=ip, country=country, country_name=country_name)
        return verdict.verdict == KAZNET, verdict.reason
