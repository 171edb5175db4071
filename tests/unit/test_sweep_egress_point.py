"""The sweep's egress point lets the sandbox web through and refuses what the policy refuses."""

from __future__ import annotations

import httpx

from crawler.egress import EgressPolicy
from crawler.sandbox import SandboxWeb
from crawler.sweep.egress_point import EgressPoint


def test_requests_leave_through_the_policy() -> None:
    with SandboxWeb() as web:
        host = next(iter(web.host_map))
        policy = EgressPolicy.build((), web.host_map, True)
        with EgressPoint(policy) as point, httpx.Client(proxy=point.url, timeout=10) as client:
            served = client.get(f"http://{host}/")
            refused = client.get("http://not-on-the-map.kz/")
            events = [(e.host, e.decision) for e in point.proxy.events]
    assert served.status_code == 200 and web.hits
    assert refused.status_code == 502 and refused.headers["x-hotline-egress"] == "502"
    assert (host, "allowed") in events
    assert ("not-on-the-map.kz", "unresolved") in events


def test_an_attachment_never_passes_the_egress_point() -> None:
    from crawler.hostile_web import SCRIPT, HostileWeb

    web = HostileWeb().start()
    try:
        policy = EgressPolicy.build((), web.host_map, True)
        with EgressPoint(policy) as point, httpx.Client(proxy=point.url, timeout=10) as client:
            answer = client.get(f"http://{SCRIPT}/download/notice.txt")
            reasons = [e.reason for e in point.proxy.events]
    finally:
        web.stop()
    assert answer.headers["content-disposition"].startswith("attachment")
    assert answer.headers["x-hotline-egress"] == "attachment withheld"
    assert answer.content == b"" and "attachment: body withheld" in reasons
