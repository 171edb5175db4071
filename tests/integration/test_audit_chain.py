"""The audit log's hash chain on both engines: sealed entries verify; an entry changed, removed
or slipped in behind the triggers' back is found; `hotline audit verify` exits 1 then."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import sqlalchemy as sa

from triage_api import audit, audit_chain, cli
from triage_api.db import session_factory
from triage_api.models import AuditSeal, utcnow

pytestmark = pytest.mark.integration

LATER = timedelta(hours=1)


def _record(count: int) -> None:
    with session_factory()() as session:
        for i in range(count):
            audit.record(
                session, actor=f"user:a{i % 3}", action="case.viewed", subject=f"case:{i}", n=i
            )
        session.commit()


def _seal() -> int:
    with session_factory()() as session:
        sealed = audit_chain.seal(session, now=utcnow() + LATER)
        session.commit()
        return sealed


def _verify() -> audit_chain.Verdict:
    with session_factory()() as session:
        return audit_chain.verify(session)


def _behind_the_triggers(database: str, statement: str) -> None:
    """What only someone with the database's owner rights could do."""
    engine = sa.create_engine(database)
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(sa.text("ALTER TABLE audit_log DISABLE TRIGGER USER"))
            connection.execute(sa.text(statement))
            connection.execute(sa.text("ALTER TABLE audit_log ENABLE TRIGGER USER"))
        else:
            names = connection.execute(
                sa.text(
                    "SELECT name, sql FROM sqlite_master WHERE type='trigger' "
                    "AND tbl_name='audit_log'"
                )
            ).all()
            for name, _ in names:
                connection.execute(sa.text(f"DROP TRIGGER {name}"))
            connection.execute(sa.text(statement))
            for _, sql in names:
                connection.execute(sa.text(sql))
    engine.dispose()


def test_sealed_entries_verify_and_new_ones_wait(database: str) -> None:
    _record(40)
    assert _seal() == 40
    assert _seal() == 0  # nothing twice
    _record(5)
    with session_factory()() as session:
        assert audit_chain.seal(session) == 0  # too recent: a slower transaction may still commit
    verdict = _verify()
    assert verdict.problems == [] and verdict.checked == 40 and verdict.unsealed == 5
    with session_factory()() as session:
        assert (verdict.head_id, verdict.head_hash) == audit_chain.head(session)
        with pytest.raises(sa.exc.DBAPIError):
            session.execute(sa.update(AuditSeal).values(hash="0" * 64))
        session.rollback()
        with pytest.raises(sa.exc.DBAPIError):
            session.execute(sa.delete(AuditSeal))
        session.rollback()


@pytest.mark.parametrize(
    ("tamper", "found"),
    [
        ("UPDATE audit_log SET actor = 'user:nobody' WHERE id = 7", "entry 7 differs"),
        ("DELETE FROM audit_log WHERE id = 9", "entry 9 was sealed but is gone"),
        ("DELETE FROM audit_log WHERE id = 20", "entry 20 was sealed but is gone"),
    ],
)
def test_tampering_is_found(
    database: str, tamper: str, found: str, capsys: pytest.CaptureFixture[str]
) -> None:
    _record(20)
    _seal()
    assert cli.main(["audit", "verify"]) == 0
    _behind_the_triggers(database, tamper)
    verdict = _verify()
    assert any(found in p for p in verdict.problems), verdict.problems
    capsys.readouterr()
    assert cli.main(["audit", "verify"]) == 1
    out = capsys.readouterr().out
    assert found in out and json.loads(out.splitlines()[-1])["problems"] >= 1


def test_an_entry_slipped_in_below_the_seals_is_found(database: str) -> None:
    _record(10)
    _seal()
    _behind_the_triggers(
        database,
        "INSERT INTO audit_log (id, at, actor, action, subject, details) "
        "VALUES (0, '2026-01-01 00:00:00+00:00', 'user:x', 'case.decided', 'case:1', '{}')",
    )
    assert any("entry 0 is not in the chain" in p for p in _verify().problems)
