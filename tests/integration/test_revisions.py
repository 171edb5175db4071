"""Decisions per picture, supervisors' revisions and "same as case N", on both engines.

A revision adds a decision and never edits one; the hashes a revised case had listed are
withdrawn (kept for the matches that cite them) and listed again as the new decision says,
without taking back what another case established.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from crawler import sandbox_sites
from tests.evidence_cases import case_with, staff
from triage_api import config, db, pipeline
from triage_api.api.app import create_app
from triage_api.case_view import case_detail
from triage_api.decisions import (
    ALLOW_LIST,
    DecisionError,
    MediaVerdict,
    NothingToRevise,
    Revision,
    history,
    record_decision,
    revise_decision,
)
from triage_api.matching import find_hits
from triage_api.models import AuditEntry, Case, Decision, KnownHash, Media
from triage_api.security import add_user
from triage_api.taxonomy import taxonomy

pytestmark = pytest.mark.integration

EMBLEM = sandbox_sites.image_bytes("emblem-10.jpg")
BORDERED = sandbox_sites.image_bytes("emblem-10~border.jpg")
APPLES = sandbox_sites.image_bytes("apples.jpg")


def lists_matching(data: bytes) -> set[str]:
    with db.session_scope() as session:
        lookups = {"x": _lookups(data)}
        return {h.list_name for h in find_hits(session, lookups, config.get_settings())}


def _lookups(data: bytes) -> list[tuple[str, str, int | None, str | None]]:
    from classifiers.hashing import hash_media

    return hash_media(data).lookups()


def sha(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()


def listed(list_name: str, picture: bytes) -> dict[str, str | None]:
    """The picture's rows on a list: hash type → owner note, withdrawn ones shown as None."""
    with db.session_scope() as session:
        rows = session.execute(
            sa.select(KnownHash.hash_type, KnownHash.note, KnownHash.withdrawn_at)
            .join(KnownHash.hash_list)
            .where(sa.text("hash_lists.name = :name"), KnownHash.media_sha256 == sha(picture))
            .params(name=list_name)
        ).all()
    return {kind: (None if withdrawn else note) for kind, note, withdrawn in rows}


def decide(case_id: int, user_id: int, outcome: str, **fields: object) -> int:
    with db.session_scope() as session:
        return record_decision(
            session, case_id=case_id, user_id=user_id, actor="user:a", outcome=outcome, **fields
        ).id


def revise(case_id: int, user_id: int, outcome: str, **fields: object) -> Revision:
    with db.session_scope() as session:
        fields.setdefault("reason", "second look at the pictures")
        revision = revise_decision(
            session, case_id=case_id, user_id=user_id, actor="user:boss", outcome=outcome, **fields
        )
        session.expunge(revision.decision)
        return revision


def test_each_picture_of_a_page_can_get_its_own_verdict(database: str) -> None:
    case_id = case_with([EMBLEM, APPLES], "http://gallery.kz/")
    decide(
        case_id,
        staff(),
        "illegal",
        category="extremism",
        media=[MediaVerdict(sha(APPLES), "not_illegal")],
    )
    assert lists_matching(BORDERED) == {"hotline-confirmed-extremism"}
    assert set(listed(ALLOW_LIST, APPLES)) >= {"sha256", "md5"}
    assert listed("hotline-confirmed-extremism", APPLES) == {}
    with db.session_scope() as session:
        decision = session.scalar(sa.select(Decision))
        assert decision is not None
        assert decision.media == [{"sha256": sha(APPLES), "outcome": "not_illegal"}]
        # the legal basis defaults to the taxonomy's for the category
        assert decision.legal_basis == taxonomy()["extremism"].legal_basis


def test_a_picture_can_be_illegal_in_another_category_than_the_page(database: str) -> None:
    case_id = case_with([EMBLEM, APPLES], "http://mixed.kz/")
    decide(
        case_id,
        staff(),
        "illegal",
        category="extremism",
        media=[MediaVerdict(sha(APPLES), "illegal", "drugs", "art. 296")],
    )
    assert "sha256" in listed("hotline-confirmed-drugs", APPLES)
    assert "sha256" in listed("hotline-confirmed-extremism", EMBLEM)
    with db.session_scope() as session:
        stored = session.scalar(sa.select(Decision.media))
    assert stored == [
        {
            "sha256": sha(APPLES),
            "outcome": "illegal",
            "category": "drugs",
            "legal_basis": "art. 296",
        }
    ]


@pytest.mark.parametrize(
    ("outcome", "category", "verdict", "message"),
    [
        ("illegal", "extremism", MediaVerdict("0" * 64, "not_illegal"), "was not captured"),
        ("not_illegal", None, MediaVerdict("EMBLEM", "not_illegal"), "belong to an illegal"),
        ("illegal", "extremism", MediaVerdict("EMBLEM", "maybe"), "must be one of"),
        ("illegal", "extremism", MediaVerdict("EMBLEM", "illegal", "benign"), "harmful category"),
        ("illegal", "benign", None, "harmful category"),
    ],
)
def test_malformed_verdicts_are_refused_and_nothing_is_recorded(
    database: str, outcome: str, category: str | None, verdict: MediaVerdict | None, message: str
) -> None:
    case_id = case_with([EMBLEM, APPLES], "http://refused.kz/")
    if verdict is not None and verdict.sha256 == "EMBLEM":
        verdict = MediaVerdict(sha(EMBLEM), verdict.outcome, verdict.category)
    with pytest.raises(DecisionError, match=message):
        decide(case_id, staff(), outcome, category=category, media=[verdict] if verdict else [])
    with db.session_scope() as session:
        case = session.get(Case, case_id)
        assert case is not None and case.status == "open"
        assert session.scalar(sa.select(sa.func.count()).select_from(Decision)) == 0
        assert session.scalar(sa.select(sa.func.count()).select_from(KnownHash)) == 0


def test_a_revision_withdraws_the_hashes_and_keeps_the_history(database: str) -> None:
    case_id = case_with(EMBLEM, "http://first.kz/")
    analyst, boss = staff(), staff("boss", "supervisor")
    first = decide(case_id, analyst, "illegal", category="extremism")
    assert lists_matching(BORDERED) == {"hotline-confirmed-extremism"}

    revised = revise(case_id, boss, "not_illegal", reason="a museum's photo of a flag").decision
    assert revised.revises_id == first and revised.reason == "a museum's photo of a flag"
    assert lists_matching(BORDERED) == set()  # the allow-list now suppresses the near copy
    confirmed = listed("hotline-confirmed-extremism", EMBLEM)
    assert confirmed and set(confirmed.values()) == {None}  # kept, withdrawn
    assert set(listed(ALLOW_LIST, EMBLEM).values()) == {f"case {case_id}"}

    # Revised back: the same rows come back to life instead of failing on the unique key.
    revise(case_id, boss, "illegal", category="extremism", reason="it is the banned emblem")
    assert set(listed("hotline-confirmed-extremism", EMBLEM).values()) == {f"case {case_id}"}
    assert set(listed(ALLOW_LIST, EMBLEM).values()) == {None}
    assert lists_matching(BORDERED) == {"hotline-confirmed-extremism"}

    with db.session_scope() as session:
        steps = history(session, case_id)
        audit = session.scalars(
            sa.select(AuditEntry).where(AuditEntry.action == "case.revised").order_by(AuditEntry.id)
        ).all()
    assert [(s["outcome"], s["by"], s["revises"]) for s in steps] == [
        ("illegal", "aigerim", None),
        ("not_illegal", "boss", first),
        ("illegal", "boss", revised.id),
    ]
    assert [a.details["was"] for a in audit] == ["illegal", "not_illegal"]
    assert audit[0].details["reason"] == "a museum's photo of a flag"
    assert audit[0].details["hashes_withdrawn"] == 1  # one picture


def test_a_revision_does_not_take_back_what_another_case_established(database: str) -> None:
    one = case_with(EMBLEM, "http://one.kz/")
    two = case_with(EMBLEM, "http://two.kz/")
    analyst, boss = staff(), staff("boss", "supervisor")
    decide(one, analyst, "illegal", category="extremism")
    decide(two, analyst, "illegal", category="extremism")
    assert set(listed("hotline-confirmed-extremism", EMBLEM).values()) == {f"case {one}"}
    revise(one, boss, "forward", reason="hosted abroad")
    # case two still says illegal: its hashes stay on the list, now under its name
    assert set(listed("hotline-confirmed-extremism", EMBLEM).values()) == {f"case {two}"}
    with db.session_scope() as session:
        detail = case_detail(session, two)
    assert detail is not None
    (picture,) = detail["capture"]["media"]
    assert picture["also_in"] == [{"case_id": one, "status": "decided", "outcome": "forward"}]


def test_revisions_need_a_reason_and_a_decided_case(database: str) -> None:
    case_id = case_with(EMBLEM, "http://open.kz/")
    boss = staff("boss", "supervisor")
    with pytest.raises(NothingToRevise):
        revise(case_id, boss, "not_illegal")
    decide(case_id, boss, "not_illegal")
    with pytest.raises(DecisionError, match="reason"):
        revise(case_id, boss, "illegal", category="drugs", reason="  ")
    with pytest.raises(DecisionError, match="does not exist"):
        revise(999_999, boss, "not_illegal")
    with db.session_scope() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Decision)) == 1


def test_matches_say_which_case_the_listed_picture_came_from(database: str) -> None:
    first = case_with(EMBLEM, "http://origin.kz/")
    decide(first, staff(), "illegal", category="extremism")
    copy = case_with(BORDERED, "http://copy.kz/")
    with db.session_scope() as session:
        detail = case_detail(session, copy)
    assert detail is not None and detail["matches"]
    for match in detail["matches"]:
        assert match["same_as"] == [{"case_id": first, "status": "decided", "outcome": "illegal"}]
        assert match["withdrawn"] is False


def test_revision_over_the_api_and_the_ui(database: str) -> None:
    case_id = case_with([EMBLEM, APPLES], "http://api.kz/")
    with db.session_scope() as session:
        _, analyst = add_user(session, name="aigerim", role="analyst")
        boss_user, boss = add_user(session, name="boss", role="supervisor")
        session.execute(sa.update(Case).values(stage="ready"))
    client = TestClient(create_app())

    def as_(token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}

    decided = client.post(
        f"/api/v1/cases/{case_id}/decision",
        json={
            "outcome": "illegal",
            "category": "extremism",
            "media": [{"sha256": sha(APPLES), "outcome": "not_illegal"}],
        },
        headers=as_(boss),
    )
    assert decided.status_code == 200, decided.text
    body = {"outcome": "not_illegal", "reason": "mistaken"}
    refused = client.post(f"/api/v1/cases/{case_id}/revision", json=body, headers=as_(analyst))
    assert refused.status_code == 403
    no_reason = client.post(
        f"/api/v1/cases/{case_id}/revision", json={"outcome": "not_illegal"}, headers=as_(boss)
    )
    assert no_reason.status_code == 422
    bad_picture = client.post(
        f"/api/v1/cases/{case_id}/revision",
        json={**body, "outcome": "illegal", "category": "drugs", "media": [{"sha256": "zz"}]},
        headers=as_(boss),
    )
    assert bad_picture.status_code == 422
    revised = client.post(f"/api/v1/cases/{case_id}/revision", json=body, headers=as_(boss))
    assert revised.status_code == 200, revised.text
    assert revised.json()["revises"] == decided.json()["decision"]
    steps = client.get(f"/api/v1/cases/{case_id}/decisions", headers=as_(analyst)).json()
    assert [s["outcome"] for s in steps["decisions"]] == ["illegal", "not_illegal"]
    assert steps["decisions"][0]["media"] == [{"sha256": sha(APPLES), "outcome": "not_illegal"}]
    assert (
        client.post("/api/v1/cases/999999/revision", json=body, headers=as_(boss)).status_code
        == 404
    )

    # The case page shows the history and offers supervisors the revision form.
    client.get("/ui/login")
    signed = client.post("/ui/login", data={"token": boss, "csrf": client.cookies["hotline_csrf"]})
    assert signed.status_code in (200, 303)
    page = client.get(f"/ui/cases/{case_id}")
    assert page.status_code == 200 and 'id="revise"' in page.text and "mistaken" in page.text
    form = {"csrf": client.cookies["hotline_csrf"], "outcome": "illegal", "category": "drugs"}
    missing = client.post(f"/ui/cases/{case_id}/revision", data=form)
    assert missing.status_code == 422 and "reason" in missing.text
    done = client.post(
        f"/ui/cases/{case_id}/revision",
        data={**form, "reason": "shop photos after all"},
        follow_redirects=False,
    )
    assert done.status_code == 303
    no_csrf = client.post(
        f"/ui/cases/{case_id}/revision", data={"outcome": "forward", "reason": "x"}
    )
    assert no_csrf.status_code == 403
    with db.session_scope() as session:
        outcomes = session.scalars(sa.select(Decision.outcome).order_by(Decision.id)).all()
        emblem = session.get(Media, sha(EMBLEM))
    assert outcomes == ["illegal", "not_illegal", "illegal"] and emblem is not None
    assert "sha256" in listed("hotline-confirmed-drugs", EMBLEM)
    assert boss_user.name == "boss"


def test_the_ui_decides_pictures_one_by_one(database: str) -> None:
    case_id = case_with([EMBLEM, APPLES], "http://ui.kz/")
    with db.session_scope() as session:
        _, boss = add_user(session, name="boss", role="supervisor")
        session.execute(sa.update(Case).values(stage="ready"))
    client = TestClient(create_app())
    client.get("/ui/login")
    client.post("/ui/login", data={"token": boss, "csrf": client.cookies["hotline_csrf"]})
    page = client.get(f"/ui/cases/{case_id}")
    assert f'value="{sha(APPLES)}|not_illegal"' in page.text
    csrf = client.cookies["hotline_csrf"]
    malformed = client.post(
        f"/ui/cases/{case_id}/decision",
        data={"csrf": csrf, "outcome": "illegal", "category": "extremism", "media": ["nonsense"]},
    )
    assert malformed.status_code == 422 and "malformed" in malformed.text
    decided = client.post(
        f"/ui/cases/{case_id}/decision",
        data={
            "csrf": csrf,
            "outcome": "illegal",
            "category": "extremism",
            "media": [f"{sha(EMBLEM)}|follow", f"{sha(APPLES)}|illegal:drugs"],
        },
        follow_redirects=False,
    )
    assert decided.status_code == 303
    assert "sha256" in listed("hotline-confirmed-drugs", APPLES)
    assert "sha256" in listed("hotline-confirmed-extremism", EMBLEM)


def test_open_cases_that_matched_a_withdrawn_hash_are_scored_again(database: str) -> None:
    origin = case_with(EMBLEM, "http://origin.kz/")
    boss = staff("boss", "supervisor")
    decide(origin, boss, "illegal", category="extremism")
    copy = case_with(BORDERED, "http://copy.kz/")
    with db.session_scope() as session:
        session.execute(sa.update(Case).where(Case.id == copy).values(stage="score"))
    assert pipeline.score(copy)
    with db.session_scope() as session:
        before = session.get(Case, copy)
        assert before is not None and before.band == 3  # confirmed-likely through the match

    revision = revise(origin, boss, "not_illegal", reason="a museum's photo")
    assert revision.rescore == [copy]
    with db.session_scope() as session:
        waiting = session.get(Case, copy)
        assert waiting is not None and waiting.stage == "score"
    assert pipeline.score(copy)
    with db.session_scope() as session:
        after = session.get(Case, copy)
        assert after is not None and after.stage == "ready" and after.band < 3
        assert not any("hotline-confirmed" in r["text"] for r in after.reasons)
