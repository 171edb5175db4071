"""An analyst's decision on a case, and what it teaches the hash lists.

Every media file of a case decided illegal joins the hotline's own list for that category, so the
next copy anywhere is matched; every file of a case decided not illegal joins the allow-list, so a
false near match does not come back. Both happen in the decision's transaction.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from classifiers.signals import Pdq
from triage_api import audit
from triage_api.hashlists import open_list
from triage_api.models import Capture, CaptureMedia, Case, Decision, HashList, KnownHash, Media
from triage_api.sqlutil import insert_ignore
from triage_api.taxonomy import check_category

OUTCOMES = ("illegal", "not_illegal", "duplicate", "forward")
SECOND_OPINION = "second_opinion"  # not a decision: the case goes back to another analyst
CONFIRMED_LIST = "hotline-confirmed-{category}"
ALLOW_LIST = "hotline-not-illegal"
SOURCE = "analysts' decisions"


class DecisionError(ValueError):
    """The decision cannot be recorded as given (unknown outcome, missing category, closed case)."""


class CaseClosed(DecisionError):
    """The case was decided already; a revision is a supervisor's separate act."""


def record_decision(
    session: Session,
    *,
    case_id: int,
    user_id: int,
    actor: str,
    outcome: str,
    category: str | None = None,
    legal_basis: str | None = None,
    duplicate_of: int | None = None,
    note: str | None = None,
) -> Decision:
    """Record the decision, close the case and feed the known or allow list with its media."""
    if outcome not in OUTCOMES:
        raise DecisionError(f"outcome must be one of {', '.join(OUTCOMES)}")
    if outcome == "illegal":
        if not category:
            raise DecisionError("an illegal decision needs the category")
        try:
            check_category(category)
        except ValueError as exc:
            raise DecisionError(str(exc)) from None
    if outcome == "duplicate" and duplicate_of is None:
        raise DecisionError("a duplicate decision needs the case it duplicates (duplicate_of)")
    if duplicate_of is not None and (
        duplicate_of == case_id or session.get(Case, duplicate_of) is None
    ):
        raise DecisionError(f"duplicate_of must be another existing case, not {duplicate_of}")
    case = session.get(Case, case_id, with_for_update=True)
    if case is None:
        raise DecisionError(f"case {case_id} does not exist")
    if case.status != "open":
        raise CaseClosed(f"case {case_id} is already {case.status}")
    decision = Decision(
        case_id=case_id,
        user_id=user_id,
        outcome=outcome,
        category=category,
        legal_basis=legal_basis,
        duplicate_of=duplicate_of,
        note=note,
    )
    session.add(decision)
    case.status, case.open_key, case.lease_until = "decided", None, None
    added = 0
    if outcome == "illegal" and category:
        target = open_list(
            session,
            name=CONFIRMED_LIST.format(category=category),
            category=category,
            fallback_source=SOURCE,
        )[0]
        added = add_case_media(session, case_id=case_id, hash_list=target, category=category)
    elif outcome == "not_illegal":
        target = open_list(
            session,
            name=ALLOW_LIST,
            category="benign",
            fallback_source=SOURCE,
            kind="allow",
        )[0]
        added = add_case_media(session, case_id=case_id, hash_list=target, category=None)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="case.decided",
        subject=f"case:{case_id}",
        outcome=outcome,
        category=category,
        hashes_listed=added,
    )
    return decision


def decide(
    session: Session,
    *,
    case_id: int,
    user_id: int,
    actor: str,
    outcome: str,
    category: str | None = None,
    legal_basis: str | None = None,
    duplicate_of: int | None = None,
    note: str | None = None,
) -> Decision:
    """What an analyst's decision button does: a second opinion, or a decision that closes."""
    if outcome == SECOND_OPINION:
        return ask_second_opinion(session, case_id=case_id, user_id=user_id, actor=actor, note=note)
    return record_decision(
        session,
        case_id=case_id,
        user_id=user_id,
        actor=actor,
        outcome=outcome,
        category=category,
        legal_basis=legal_basis,
        duplicate_of=duplicate_of,
        note=note,
    )


def ask_second_opinion(
    session: Session, *, case_id: int, user_id: int, actor: str, note: str | None = None
) -> Decision:
    """Record that this analyst wants someone else to look: the case stays open, its lease ends,
    and `claims.claim_next` will not hand it back to them."""
    case = session.get(Case, case_id, with_for_update=True)
    if case is None:
        raise DecisionError(f"case {case_id} does not exist")
    if case.status != "open":
        raise CaseClosed(f"case {case_id} is already {case.status}")
    asked = Decision(case_id=case_id, user_id=user_id, outcome=SECOND_OPINION, note=note)
    session.add(asked)
    case.claimed_by, case.lease_until = None, None
    session.flush()
    audit.record(session, actor=actor, action="case.second_opinion", subject=f"case:{case_id}")
    return asked


def add_case_media(
    session: Session, *, case_id: int, hash_list: HashList, category: str | None
) -> int:
    """Put every hash of every media file captured for the case on `hash_list`; count new rows."""
    captured = (
        sa.select(CaptureMedia.media_sha256)
        .join(Capture, Capture.id == CaptureMedia.capture_id)
        .where(Capture.case_id == case_id)
    )
    media = session.scalars(sa.select(Media).where(Media.sha256.in_(captured))).all()
    rows: list[dict[str, object]] = []
    for item in media:
        hashes: list[tuple[str, str, int | None]] = [
            ("sha256", item.sha256, None),
            ("md5", item.md5, None),
            ("sha1", item.sha1, None),
        ]
        if item.phash:
            hashes.append(("phash", item.phash, None))
        if item.dhash:
            hashes.append(("dhash", item.dhash, None))
        if item.pdq and (item.pdq_quality or 0) >= (Pdq.min_quality or 0):
            hashes.append(("pdq", item.pdq, item.pdq_quality))
        rows.extend(
            {
                "list_id": hash_list.id,
                "hash_type": kind,
                "value": value,
                "category": category,
                "quality": quality,
                "media_sha256": item.sha256,
                "note": f"case {case_id}",
            }
            for kind, value, quality in hashes
        )
    before = _count(session, hash_list.id)
    for start in range(0, len(rows), 1000):
        insert_ignore(session, KnownHash, rows[start : start + 1000])
    return _count(session, hash_list.id) - before


def _count(session: Session, list_id: int) -> int:
    return session.scalar(sa.select(sa.func.count()).where(KnownHash.list_id == list_id)) or 0
