"""Seeds of a sweep from the hotline's cases, on both engines: confirmed URLs and their sites,
their captured pages' Kaznet links, sites on the same server, likely cases nobody decided yet."""

from __future__ import annotations

import pytest

from crawler.evidence import EvidenceStore
from tests.evidence_cases import staff
from triage_api import config, db
from triage_api.decisions import record_decision
from triage_api.models import Capture, Case
from triage_api.sweep_seeds import seeds_from_cases

pytestmark = pytest.mark.integration

SHOP_HTML = """<html><body><a href="/reviews">reviews</a> <a href="#top">top</a>
<a href="http://kuryer-24.kz/offer">courier</a> <a href="http://dari-shop.top/item-7">abroad</a>
<a href="mailto:shop@dari.kz">mail</a> <a href="javascript:void(0)">x</a>
<a href="http://kuryer-24.kz/offer">courier again</a>
<p>закладки, доставка за час</p></body></html>"""


def case(url: str, *, band: int = 1, server: str | None = None, html: str | None = None) -> int:
    store = EvidenceStore(config.get_settings().evidence_dir)
    with db.session_scope() as session:
        row = Case(
            canonical_url=url, host=url.split("/")[2], open_key=url, stage="ready", band=band
        )
        session.add(row)
        session.flush()
        capture = Capture(
            case_id=row.id,
            requested_url=url,
            final_url=url,
            server_ip=server,
            html_sha256=store.put(html.encode()) if html else None,
        )
        session.add(capture)
        session.flush()
        row.last_capture_id = capture.id
        return row.id


def decide(case_id: int, outcome: str) -> None:
    with db.session_scope() as session:
        record_decision(
            session,
            case_id=case_id,
            user_id=staff(f"a{case_id}"),
            actor="user:a",
            outcome=outcome,
            category="drugs" if outcome == "illegal" else None,
        )


def test_seeds_come_from_what_the_hotline_knows(database: str) -> None:
    shop = case("http://dari-kz-shop.kz/catalog/item-7", server="198.51.100.7", html=SHOP_HTML)
    sibling = case("http://aq-zhol.kz/page", server="198.51.100.7")
    likely = case("http://likely-shop.kz/x", band=3)
    cleared = case("http://cleared.kz/y", band=3)
    abroad = case("http://foreign-shop.com/", band=3)
    decide(shop, "illegal")
    decide(cleared, "not_illegal")
    decide(abroad, "illegal")
    with db.session_scope() as session:
        store = EvidenceStore(config.get_settings().evidence_dir)
        seeds = seeds_from_cases(session, store)
        only_confirmed = seeds_from_cases(session, store, kinds=["confirmed"])
        with pytest.raises(ValueError, match="unknown seed kinds"):
            seeds_from_cases(session, store, kinds=["everything"])
        capped = seeds_from_cases(session, store, limit=2)
    assert [(s.url, s.kind, s.case_id) for s in seeds] == [
        ("http://dari-kz-shop.kz/catalog/item-7", "confirmed", shop),
        ("http://dari-kz-shop.kz/", "confirmed", shop),
        ("http://dari-kz-shop.kz/reviews", "outlink", shop),
        ("http://kuryer-24.kz/offer", "outlink", shop),
        ("http://aq-zhol.kz/", "same_server", shop),
        ("http://likely-shop.kz/x", "high_score", likely),
    ]
    assert {s.kind for s in only_confirmed} == {"confirmed"}
    assert len(capped) == 2
    assert sibling and all("foreign-shop.com" not in s.url for s in seeds)
    assert seeds[0].as_dict() == {
        "url": "http://dari-kz-shop.kz/catalog/item-7",
        "kind": "confirmed",
        "case_id": shop,
    }
