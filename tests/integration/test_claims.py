"""Claiming cases: the best free case goes to exactly one analyst, leases run out, only the
holder (or a supervisor) decides; on SQLite and PostgreSQL, with analysts claiming at once."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import timedelta

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from triage_api import claims
from triage_api.api.app import create_app
from triage_api.db import session_factory
from triage_api.models import AuditEntry, Case, Decision, User, utcnow
from triage_api.security import add_user

pytestmark = pytest.mark.integration


def _cases(count: int, **fields: object) -> list[int]:
    with session_factory()() as session:
        rows = [
            Case(
                canonical_url=f"http://site{i}.kz/",
                host=f"site{i}.kz",
                open_key=f"http://site{i}.kz/",
                stage="ready",
                band=int(fields.get("band", 1)),
                rank_key=float(i),
                reasons=[],
                claimed_category=fields.get("category"),
                jurisdiction=fields.get("jurisdiction"),
            )
            for i in range(count)
        ]
        session.add_all(rows)
        session.commit()
        return [row.id for row in rows]


def _users(*roles: str) -> list[tuple[User, str]]:
    with session_factory()() as session:
        made = [add_user(session, name=f"{role}-{i}", role=role) for i, role in enumerate(roles)]
        session.commit()
        for user, _ in made:
            session.refresh(user)
            session.expunge(user)
        return made


def test_the_best_free_case_goes_to_one_analyst(database: str) -> None:
    ids = _cases(3)
    (aigerim, _), (daniyar, _) = _users("analyst", "analyst")
    with session_factory()() as session:
        first = claims.claim_next(session, aigerim)
        session.commit()
        again = claims.claim_next(session, aigerim)  # a reload gives the same case back
        second = claims.claim_next(session, daniyar)
        session.commit()
    assert first and again and second
    assert first.case_id == again.case_id == ids[2]  # highest rank_key first
    assert second.case_id == ids[1]


def test_an_expired_lease_returns_the_case_to_the_queue(database: str) -> None:
    (case_id,) = _cases(1)
    (aigerim, _), (daniyar, _) = _users("analyst", "analyst")
    later = utcnow() + timedelta(hours=1)
    with session_factory()() as session:
        assert claims.claim_next(session, aigerim)
        session.commit()
        assert claims.claim_next(session, daniyar) is None  # taken
        taken = claims.claim_next(session, daniyar, now=later)
        session.commit()
        assert taken and taken.case_id == case_id
        with pytest.raises(claims.ClaimError, match="not claimed"):
            claims.renew(session, case_id, aigerim, now=later)
        assert claims.holder(session, case_id, now=later) == daniyar.id


def test_filters_and_release_and_reassign(database: str) -> None:
    drugs = _cases(2, category="drugs", jurisdiction="kaznet")
    (aigerim, _), (boss, _) = _users("analyst", "supervisor")
    with session_factory()() as session:
        assert claims.claim_next(session, aigerim, claims.QueueFilter(category="fraud")) is None
        got = claims.claim_next(session, aigerim, claims.QueueFilter(category="drugs"))
        assert got and got.case_id in drugs
        with pytest.raises(claims.ClaimError, match="band must be"):
            claims.QueueFilter(band="urgent").conditions()
        claims.release(session, got.case_id, aigerim)
        with pytest.raises(claims.ClaimError):
            claims.release(session, got.case_id, aigerim)
        moved = claims.reassign(session, drugs[0], aigerim, boss)
        session.commit()
        assert claims.holder(session, drugs[0]) == aigerim.id == moved.user_id
        actions = session.scalars(sa.select(AuditEntry.action)).all()
        assert {"case.claimed", "case.released", "case.reassigned"} <= set(actions)


def test_concurrent_analysts_never_share_a_case(database: str) -> None:
    ids = _cases(60)
    analysts = [user for user, _ in _users(*["analyst"] * 6)]
    taken: list[tuple[int, int]] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def work(user: User) -> None:
        try:
            while True:
                with session_factory()() as session:
                    got = claims.claim_next(session, user)
                    if got is None:
                        session.commit()
                        return
                    session.execute(
                        sa.update(Case).where(Case.id == got.case_id).values(status="decided")
                    )
                    session.commit()
                with lock:
                    taken.append((got.case_id, user.id))
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(u,)) for u in analysts]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    counts = Counter(case for case, _ in taken)
    assert sorted(counts) == sorted(ids) and set(counts.values()) == {1}
    assert len({user for _, user in taken}) > 1  # the work was shared


def test_api_claim_and_decide(database: str) -> None:
    first, second = _cases(2)
    (aigerim, token), (daniyar, other) = _users("analyst", "analyst")
    client = TestClient(create_app())
    mine = {"Authorization": f"Bearer {token}"}
    theirs = {"Authorization": f"Bearer {other}"}
    claim = client.post("/api/v1/queue/claim", headers=mine).json()["claim"]
    assert claim["case_id"] == second
    refused = client.post(
        f"/api/v1/cases/{second}/decision", json={"outcome": "not_illegal"}, headers=theirs
    )
    assert refused.status_code == 409 and "claim case" in refused.json()["detail"]
    bad = client.post(
        f"/api/v1/cases/{second}/decision", json={"outcome": "duplicate"}, headers=mine
    )
    assert bad.status_code == 422 and "duplicate_of" in bad.json()["detail"]
    done = client.post(
        f"/api/v1/cases/{second}/decision",
        json={"outcome": "duplicate", "duplicate_of": first},
        headers=mine,
    )
    assert done.status_code == 200, done.text
    again = client.post(
        f"/api/v1/cases/{second}/decision", json={"outcome": "not_illegal"}, headers=mine
    )
    assert again.status_code == 409  # closed: nobody holds it any more
    nxt = client.post("/api/v1/queue/claim", json={"band": "possible"}, headers=mine).json()
    assert nxt["claim"]["case_id"] == first
    assert client.post("/api/v1/queue/claim", headers=theirs).json() == {"claim": None}
    assert (
        client.post(
            f"/api/v1/cases/{first}/reassign", json={"user_id": daniyar.id}, headers=mine
        ).status_code
        == 403
    )
    assert client.post("/api/v1/queue/claim").status_code == 401
    with session_factory()() as session:
        decision = session.scalars(sa.select(Decision)).one()
        assert (decision.case_id, decision.duplicate_of, decision.user_id) == (
            second,
            first,
            aigerim.id,
        )


def test_a_second_opinion_goes_to_someone_else(database: str) -> None:
    (case_id,) = _cases(1)
    (_, token), (_, other) = _users("analyst", "analyst")
    client = TestClient(create_app())
    mine = {"Authorization": f"Bearer {token}"}
    assert client.post("/api/v1/queue/claim", headers=mine).json()["claim"]["case_id"] == case_id
    asked = client.post(
        f"/api/v1/cases/{case_id}/decision",
        json={"outcome": "second_opinion", "note": "is this the licensed shop?"},
        headers=mine,
    )
    assert asked.status_code == 200, asked.text
    assert client.post("/api/v1/queue/claim", headers=mine).json() == {"claim": None}
    theirs = {"Authorization": f"Bearer {other}"}
    assert client.post("/api/v1/queue/claim", headers=theirs).json()["claim"]["case_id"] == case_id
    done = client.post(
        f"/api/v1/cases/{case_id}/decision", json={"outcome": "not_illegal"}, headers=theirs
    )
    assert done.status_code == 200
    with session_factory()() as session:
        outcomes = session.scalars(sa.select(Decision.outcome).order_by(Decision.id)).all()
        assert outcomes == ["second_opinion", "not_illegal"]
        assert session.get(Case, case_id).status == "decided"
