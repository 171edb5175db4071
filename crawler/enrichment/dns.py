"""A, AAAA, NS and MX records of a site, with short timeouts; failures are recorded, not raised.

A and AAAA are asked for the host itself, NS and MX for its registrable domain (who runs the
zone and its mail). Nameservers and port are configurable; None means the system's resolver.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import dns.asyncresolver
import dns.exception
import dns.rdata
import dns.rdatatype
import dns.resolver
from dns.rdtypes.ANY.MX import MX
from dns.rdtypes.ANY.NS import NS

from crawler.enrichment.errors import DnsError

DEFAULT_TIMEOUT_S = 3.0


@dataclass
class DnsRecords:
    """What the resolver answered; `errors` holds one line per failed question."""

    a: list[str] = field(default_factory=list)
    aaaa: list[str] = field(default_factory=list)
    ns: list[str] = field(default_factory=list)
    mx: list[dict[str, object]] = field(default_factory=list)  # {"preference", "exchange"}
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return {"a": self.a, "aaaa": self.aaaa, "ns": self.ns, "mx": self.mx}

    def first_address(self) -> str | None:
        addresses = self.a or self.aaaa
        return addresses[0] if addresses else None


def make_resolver(
    nameservers: list[str] | None = None, port: int = 53, timeout: float = DEFAULT_TIMEOUT_S
) -> dns.asyncresolver.Resolver:
    """A resolver asking `nameservers` on `port`, or the system's resolvers when None."""
    if nameservers is None:
        try:
            resolver = dns.asyncresolver.Resolver()
        except dns.resolver.NoResolverConfiguration as exc:
            raise DnsError(f"no system DNS configuration ({exc})") from None
    else:
        if not nameservers:
            raise DnsError("no nameserver given")
        resolver = dns.asyncresolver.Resolver(configure=False)
        resolver.nameservers = list(nameservers)
        resolver.port = port
    resolver.timeout = min(timeout, 2.0)  # per try; a second server gets a chance
    resolver.lifetime = timeout
    resolver.use_search_by_default = False
    return resolver


async def _ask(
    resolver: dns.asyncresolver.Resolver, name: str, rdtype: str
) -> list[dns.rdata.Rdata]:
    try:
        answer = await resolver.resolve(name, rdtype, search=False, raise_on_no_answer=False)
    except dns.resolver.NXDOMAIN:
        raise DnsError(f"{name} does not exist (NXDOMAIN)") from None
    except dns.resolver.LifetimeTimeout:
        raise DnsError(f"{rdtype} {name}: no answer within {resolver.lifetime:g} s") from None
    except dns.resolver.NoNameservers as exc:
        raise DnsError(f"{rdtype} {name}: every nameserver failed ({exc})") from None
    except dns.exception.DNSException as exc:
        raise DnsError(f"{rdtype} {name}: {exc}") from None
    return list(answer.rrset) if answer.rrset is not None else []


def _name(rdata: object) -> str:
    return str(rdata).rstrip(".").lower()


async def lookup_records(
    host: str,
    zone: str | None,
    *,
    nameservers: list[str] | None = None,
    port: int = 53,
    timeout: float = DEFAULT_TIMEOUT_S,
) -> DnsRecords:
    """All four record types at once; each question that fails adds a line to `errors`."""
    records = DnsRecords()
    try:
        resolver = make_resolver(nameservers, port, timeout)
    except DnsError as exc:
        records.errors.append(str(exc))
        return records
    questions = [(host, "A"), (host, "AAAA"), (zone or host, "NS"), (zone or host, "MX")]
    answers = await asyncio.gather(
        *(_ask(resolver, name, rdtype) for name, rdtype in questions), return_exceptions=True
    )
    seen_errors: set[str] = set()
    for (_, rdtype), answer in zip(questions, answers, strict=True):
        if isinstance(answer, BaseException):
            if not isinstance(answer, DnsError):
                answer = DnsError(f"{rdtype}: {type(answer).__name__}: {answer}")
            if str(answer) not in seen_errors:  # NXDOMAIN for A and AAAA is one fact
                seen_errors.add(str(answer))
                records.errors.append(str(answer))
            continue
        if rdtype == "A":
            records.a = [r.to_text() for r in answer if r.rdtype == dns.rdatatype.A]
        elif rdtype == "AAAA":
            records.aaaa = [r.to_text() for r in answer if r.rdtype == dns.rdatatype.AAAA]
        elif rdtype == "NS":
            records.ns = sorted(_name(r.target) for r in answer if isinstance(r, NS))
        else:
            mx = [r for r in answer if isinstance(r, MX)]
            records.mx = [
                {"preference": r.preference, "exchange": _name(r.exchange)}
                for r in sorted(mx, key=lambda r: (r.preference, str(r.exchange)))
            ]
    return records
