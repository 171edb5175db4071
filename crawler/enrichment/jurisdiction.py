"""Kaznet or foreign: whether the hotline acts itself or forwards the case to a partner hotline.

Kaznet when the domain is under .kz or .қаз, or the server's address is in Kazakhstan; foreign
(with the country) otherwise; unknown when neither the domain nor the server tells.
"""

from __future__ import annotations

from dataclasses import dataclass

from crawler.enrichment.domain import KZ_TLDS, to_unicode

KAZNET, FOREIGN, UNKNOWN = "kaznet", "foreign", "unknown"


@dataclass(frozen=True)
class Jurisdiction:
    verdict: str  # "kaznet", "foreign" or "unknown"
    reason: str  # in words, for the analyst
    country: str | None = None


def decide(
    *,
    tld: str | None,
    ip: str | None,
    country: str | None,
    country_name: str | None = None,
    ip_note: str | None = None,
) -> Jurisdiction:
    """The verdict from the domain's TLD (ASCII form) and the server's country (ISO alpha-2)."""
    country = country.upper() if country else None
    if tld and tld.lower() in KZ_TLDS:
        where = f" and its server {ip} is in {country_name or country}" if ip and country else ""
        return Jurisdiction(
            KAZNET, f"the domain is under .{to_unicode(tld.lower())}{where}", country
        )
    if ip and country == "KZ":
        return Jurisdiction(KAZNET, f"the server {ip} is in Kazakhstan", country)
    if ip and country:
        label = f"{country_name} ({country})" if country_name else country
        return Jurisdiction(
            FOREIGN,
            f"the domain is not under .kz or .қаз and the server {ip} is in {label}",
            country,
        )
    if ip:
        why = f": {ip_note}" if ip_note else ""
        reason = f"the domain is not under .kz or .қаз and the country of {ip} is unknown{why}"
    else:
        reason = "the domain is not under .kz or .қаз and the server's address is unknown"
    return Jurisdiction(UNKNOWN, reason, None)
