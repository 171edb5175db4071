"""One enrichment: local facts first, then DNS, RDAP and WHOIS side by side, within one budget.

Each source has its own time limit and the whole look-up has a total one; a source that fails or
runs out of time adds a line to `errors` and the others still fill their fields.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import time
from collections.abc import Awaitable, Callable, Coroutine
from datetime import UTC, datetime
from typing import Any

from crawler.egress import EgressProxy
from crawler.enrichment import jurisdiction, rdap, whois
from crawler.enrichment.directory import Directory
from crawler.enrichment.dns import lookup_records
from crawler.enrichment.domain import describe_url
from crawler.enrichment.errors import EnrichmentError, IpInfoError
from crawler.enrichment.ipinfo import lookup_ip, normalize_ip
from crawler.enrichment.model import Enrichment, EnrichOptions


def enrich(
    url: str, server_ip: str | None = None, options: EnrichOptions | None = None
) -> Enrichment:
    """The site's technical characteristics; never raises for a source that fails.

    Synchronous: runs its own event loop (in a helper thread when called from inside one).
    """
    chosen = options or EnrichOptions()
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return _run(enrich_async(url, server_ip, chosen))
    with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="enrich") as pool:
        return pool.submit(_run, enrich_async(url, server_ip, chosen)).result()


def _run(main: Coroutine[Any, Any, Enrichment]) -> Enrichment:
    """Like `asyncio.run`, but never waits for a name look-up stuck in a worker thread."""
    loop = asyncio.new_event_loop()
    executor = concurrent.futures.ThreadPoolExecutor(4, thread_name_prefix="enrich-io")
    loop.set_default_executor(executor)
    try:
        return loop.run_until_complete(main)
    finally:
        try:
            loop.run_until_complete(_cancel_leftovers())
            loop.run_until_complete(loop.shutdown_asyncgens())
        finally:
            executor.shutdown(wait=False, cancel_futures=True)
            loop.close()


async def _cancel_leftovers() -> None:
    leftovers = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
    for task in leftovers:
        task.cancel()
    await asyncio.gather(*leftovers, return_exceptions=True)


async def enrich_async(url: str, server_ip: str | None, options: EnrichOptions) -> Enrichment:
    started = time.monotonic()
    result = Enrichment(url=url, looked_up_at=datetime.now(UTC).isoformat(timespec="seconds"))
    directory = _load_directory(options, result)
    try:
        result.domain = describe_url(url)
    except EnrichmentError as exc:
        result.fail("domain", exc)
    if server_ip:
        await _set_ip(result, server_ip, "capture", options)
    elif result.domain and result.domain.is_ip:
        await _set_ip(result, result.domain.host, "url", options)
    if options.offline:
        result.skipped = [f"{s} (offline)" for s in ("dns", "rdap_domain", "rdap_ip", "whois")]
    else:
        await _network_sources(result, options, deadline=started + options.total_timeout)
    _combine(result, directory)
    result.duration_s = time.monotonic() - started
    return result


def _load_directory(options: EnrichOptions, result: Enrichment) -> Directory | None:
    try:
        return Directory.load(options.directory_path)
    except EnrichmentError as exc:
        result.fail("directory", exc)
        if options.directory_path is None:
            return None
    try:  # the operator's file is broken: the shipped directory still helps
        return Directory.load(None)
    except EnrichmentError as exc:
        result.fail("directory", exc)
        return None


async def _set_ip(result: Enrichment, ip: str, source: str, options: EnrichOptions) -> None:
    try:
        result.ip = str(normalize_ip(ip))
    except IpInfoError as exc:
        result.fail("ipinfo", exc)
        return
    result.ip_source = source
    try:
        result.ip_info = await asyncio.to_thread(
            lookup_ip,
            result.ip,
            country_mmdb=options.country_mmdb,
            asn_mmdb=options.asn_mmdb,
            use_bundled=options.bundled_ip_db,
        )
    except Exception as exc:  # a damaged database must not end the enrichment
        result.fail("ipinfo", _describe(exc))


async def _bounded(awaitable: Awaitable[Any], seconds: float, what: str) -> Any:
    try:
        return await asyncio.wait_for(awaitable, seconds)
    except TimeoutError:
        raise EnrichmentError(f"{what}: no answer within {seconds:g} s") from None


async def _network_sources(result: Enrichment, options: EnrichOptions, deadline: float) -> None:
    domain = result.domain
    policy = options.egress_policy
    registrable = domain.registrable_domain if domain else None
    tasks: dict[asyncio.Task[Any], str] = {}
    handlers: dict[str, Callable[[Any], None]] = {}

    def start(source: str, call: Callable[[], Awaitable[Any]], seconds: float) -> None:
        if not options.wants(source):
            result.skipped.append(source)
            return
        tasks[asyncio.ensure_future(_bounded(call(), seconds, source))] = source

    def ip_rdap(proxy: EgressProxy) -> None:
        ip, info = result.ip, result.ip_info
        if ip and info and info.public:
            bases = options.rdap_ip_bases or rdap.IP_RDAP_BASES
            seconds = options.rdap_timeout
            start(
                "rdap_ip",
                lambda: rdap.rdap_ip(ip, bases, proxy=proxy, timeout=seconds),
                seconds,
            )
        elif ip:
            result.skipped.append("rdap_ip (not a public address)")

    async with EgressProxy(policy, max_bytes=8 * 1024 * 1024) as proxy:
        if domain and not domain.is_ip:
            host = domain.host
            servers = list(options.dns_servers) if options.dns_servers is not None else None
            start(
                "dns",
                lambda: lookup_records(
                    host,
                    registrable,
                    nameservers=servers,
                    port=options.dns_port,
                    timeout=options.dns_timeout,
                ),
                options.dns_timeout + 0.5,
            )
        if registrable and domain and domain.tld:
            name = registrable
            base = rdap.domain_base(domain.tld, options.rdap_bases)
            if base:
                start(
                    "rdap_domain",
                    lambda: rdap.rdap_domain(name, base, proxy=proxy, timeout=options.rdap_timeout),
                    options.rdap_timeout,
                )
            else:
                result.skipped.append(f"rdap_domain (no RDAP service known for .{domain.tld})")
            start(
                "whois",
                lambda: whois.whois_domain(
                    name,
                    policy,
                    server=options.whois_server,
                    servers=options.whois_servers,
                    timeout=options.whois_timeout,
                    max_bytes=options.whois_max_bytes,
                ),
                options.whois_timeout + 0.5,
            )
        if result.ip:
            ip_rdap(proxy)

        handlers["rdap_domain"] = lambda facts: setattr(result, "rdap_domain", facts)
        handlers["rdap_ip"] = lambda facts: setattr(result, "rdap_ip", facts)
        handlers["whois"] = lambda facts: setattr(result, "whois", facts)

        while tasks:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            done, _ = await asyncio.wait(
                set(tasks), timeout=remaining, return_when=asyncio.FIRST_COMPLETED
            )
            for task in done:
                source = tasks.pop(task)
                try:
                    value = task.result()
                except Exception as exc:  # one failing source never ends the enrichment
                    result.fail(source, _describe(exc))
                    continue
                if source == "dns":
                    result.dns = value
                    for line in value.errors:
                        result.fail("dns", line)
                    if result.ip is None and (address := value.first_address()):
                        await _set_ip(result, address, "dns", options)
                        ip_rdap(proxy)
                else:
                    handlers[source](value)
        for task, source in tasks.items():
            task.cancel()
            result.fail(
                source, f"not finished within the total budget of {options.total_timeout:g} s"
            )
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)


def _combine(result: Enrichment, directory: Directory | None) -> None:
    """Provider, abuse contact, registrar and jurisdiction from what the sources found."""
    info = result.ip_info
    if info and info.country:
        result.country, result.country_name = info.country, info.country_name
        result.country_source = "ip database"
    elif result.rdap_ip and result.rdap_ip.country:
        result.country, result.country_source = result.rdap_ip.country, "rdap"

    match = None
    if directory and result.ip and info and info.public:
        match = directory.match_network(ip=result.ip, asn=info.asn, as_org=info.as_org)
    if match:
        result.directory_entry, result.directory_match = match.provider, match.by
        result.hosting_provider, result.hosting_provider_source = match.provider.name, "directory"
    elif info and info.as_org:
        result.hosting_provider, result.hosting_provider_source = info.as_org, "ip database"
    elif result.rdap_ip and (result.rdap_ip.registrant or result.rdap_ip.name):
        result.hosting_provider = result.rdap_ip.registrant or result.rdap_ip.name
        result.hosting_provider_source = "rdap"

    if result.rdap_domain and result.rdap_domain.registrar:
        result.registrar, result.registrar_source = result.rdap_domain.registrar, "rdap"
    elif result.whois and result.whois.registrar:
        result.registrar, result.registrar_source = result.whois.registrar, "whois"
    if directory and result.registrar:
        result.registrar_entry = directory.by_registrar(result.registrar)

    candidates = [
        (match.provider.abuse_contact if match else None, "directory", "hosting"),
        (_first(result.rdap_ip.abuse_emails if result.rdap_ip else []), "rdap", "hosting"),
        (
            result.registrar_entry.abuse_contact if result.registrar_entry else None,
            "directory",
            "registrar",
        ),
        (
            _first(result.rdap_domain.abuse_emails if result.rdap_domain else []),
            "rdap",
            "registrar",
        ),
        (_first(result.whois.abuse_emails if result.whois else []), "whois", "registrar"),
    ]
    for contact, source, role in candidates:
        if contact:
            result.abuse_contact, result.abuse_contact_source = contact, source
            result.abuse_contact_for = role
            break

    verdict = jurisdiction.decide(
        tld=result.domain.tld if result.domain else None,
        ip=result.ip,
        country=result.country,
        country_name=result.country_name,
        ip_note=info.note if info else None,
    )
    result.jurisdiction, result.jurisdiction_reason = verdict.verdict, verdict.reason


def _describe(exc: Exception) -> str:
    if isinstance(exc, EnrichmentError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


def _first(values: list[str]) -> str | None:
    return values[0] if values else None
