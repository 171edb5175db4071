"""An analyst's decision on a case, a supervisor's revision of it, and what both teach the lists.

Every picture of a case decided illegal joins the hotline's own list for its category, so the
next copy anywhere is matched; every picture decided not illegal joins the allow-list, so a false
near match does not come back. Where a page holds several pictures the analyst may judge each one
(`MediaVerdict`); the rest follow the case. A revision never edits a decision: it adds one that
points at the decision it replaces, with the supervisor's reason, withdraws the hashes the case
had listed and lists them again as the new decision says. All in the decision's transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from classifiers.signals import Pdq
from triage_api import audit
from triage_api.hashlists import open_list
from triage_api.models import (
    Capture,
    CaptureMedia,
    Case,
    Decision,
    HashList,
    KnownHash,
    Match,
    Media,
    User,
    utcnow,
)
from triage_api.sqlutil import upsert_for
from triage_api.taxonomy import check_category, taxonomy

OUTCOMES = ("illegal", "not_illegal", "duplicate", "forward")
LISTED = ("illegal", "not_illegal")  # the outcomes that put a case's pictures on a list
SECOND_OPINION = "second_opinion"  # not a decision: the case goes back to another analyst
CONFIRMED_LIST = "hotline-confirmed-{category}"
ALLOW_LIST = "hotline-not-illegal"
SOURCE = "analysts' decisions"
MAX_REASON = 4000


class DecisionError(ValueError):
    """The decision cannot be recorded as given (unknown outcome, missing category, closed case)."""


class CaseClosed(DecisionError):
    """The case was decided already; a revision is a supervisor's separate act."""


class NothingToRevise(DecisionError):
    """The case is still open: it gets a decision, not a revision."""


@dataclass(frozen=True, slots=True)
class Revision:
    """A revision, and the open cases whose known-material matches it took back: they are back
    in the scoring stage, to be queued for scoring once the transaction commits."""

    decision: Decision
    rescore: list[int]


@dataclass(frozen=True, slots=True)
class MediaVerdict:
    """One picture's own verdict inside an illegal decision."""

    sha256: str
    outcome: str  # "illegal" or "not_illegal"
    category: str | None = None
    legal_basis: str | None = None


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
    media: Sequence[MediaVerdict] = (),
) -> Decision:
    """Record the decision, close the case and feed the known or allow list with its media."""
    verdicts = _checked(session, case_id, outcome, category, duplicate_of, media)
    case = _locked_case(session, case_id)
    if case.status != "open":
        raise CaseClosed(f"case {case_id} is already {case.status}")
    decision = _decision(case_id, user_id, outcome, category, legal_basis, duplicate_of, note)
    decision.media = verdicts
    session.add(decision)
    case.status, case.open_key, case.lease_until = "decided", None, None
    session.flush()
    added = list_case_media(session, decision)
    _follow_up(session, case, decision, actor)
    audit.record(
        session,
        actor=actor,
        action="case.decided",
        subject=f"case:{case_id}",
        outcome=outcome,
        category=category,
        media_verdicts=len(verdicts),
        hashes_listed=added,
    )
    return decision


def revise_decision(
    session: Session,
    *,
    case_id: int,
    user_id: int,
    actor: str,
    reason: str,
    outcome: str,
    category: str | None = None,
    legal_basis: str | None = None,
    duplicate_of: int | None = None,
    note: str | None = None,
    media: Sequence[MediaVerdict] = (),
) -> Revision:
    """A supervisor replaces the standing decision of a decided case; the history stays.

    The hashes the case had listed are withdrawn (kept, so earlier matches still cite them), the
    new decision lists its own, and other decided cases that showed the same pictures list theirs
    again, so a revision of one case never takes back what another case established.
    """
    reason = (reason or "").strip()
    if not reason:
        raise DecisionError("a revision needs the reason for it")
    if len(reason) > MAX_REASON:
        raise DecisionError(f"the reason is longer than {MAX_REASON} characters")
    verdicts = _checked(session, case_id, outcome, category, duplicate_of, media)
    case = _locked_case(session, case_id)
    standing = standing_decision(session, case_id)
    if case.status != "decided" or standing is None:
        raise NothingToRevise(f"case {case_id} has no decision to revise")
    withdrawn, taken_back = _withdraw(session, case_id)
    decision = _decision(case_id, user_id, outcome, category, legal_basis, duplicate_of, note)
    decision.media, decision.revises_id, decision.reason = verdicts, standing.id, reason
    session.add(decision)
    session.flush()
    added = list_case_media(session, decision)
    relisted = _relist_others(session, case_id, withdrawn)
    _follow_up(session, case, decision, actor)
    rescore = _back_to_scoring(session, taken_back)
    audit.record(
        session,
        actor=actor,
        action="case.revised",
        subject=f"case:{case_id}",
        was=standing.outcome,
        was_category=standing.category,
        outcome=outcome,
        category=category,
        reason=reason,
        hashes_withdrawn=len(withdrawn),
        hashes_listed=added,
        relisted_for_other_cases=relisted,
        rescored_cases=rescore,
    )
    return Revision(decision, rescore)


def decide(
    session: Session,
    *,
    case_id: int,
    user_id: int,
    actor: str,
    outcome: str,
    note: str | None = None,
    **fields: Any,
) -> Decision:
    """What an analyst's decision button does: a second opinion, or a decision that closes
    (`fields`: those of `record_decision`)."""
    if outcome == SECOND_OPINION:
        return ask_second_opinion(session, case_id=case_id, user_id=user_id, actor=actor, note=note)
    return record_decision(
        session,
        case_id=case_id,
        user_id=user_id,
        actor=actor,
        outcome=outcome,
        note=note,
        **fields,
    )


def _locked_case(session: Session, case_id: int) -> Case:
    case = session.get(Case, case_id, with_for_update=True)
    if case is None:
        raise DecisionError(f"case {case_id} does not exist")
    return case


def _decision(
    case_id: int,
    user_id: int,
    outcome: str,
    category: str | None,
    legal_basis: str | None,
    duplicate_of: int | None,
    note: str | None,
) -> Decision:
    """A decision row; an illegal one without a legal basis takes the taxonomy's."""
    return Decision(
        case_id=case_id,
        user_id=user_id,
        outcome=outcome,
        category=category,
        legal_basis=_basis(category, legal_basis) if outcome == "illegal" else legal_basis,
        duplicate_of=duplicate_of,
        note=note,
    )


def ask_second_opinion(
    session: Session, *, case_id: int, user_id: int, actor: str, note: str | None = None
) -> Decision:
    """Record that this analyst wants someone else to look: the case stays open, its lease ends,
    and `claims.claim_next` will not hand it back to them."""
    case = _locked_case(session, case_id)
    if case.status != "open":
        raise CaseClosed(f"case {case_id} is already {case.status}")
    asked = Decision(case_id=case_id, user_id=user_id, outcome=SECOND_OPINION, note=note)
    session.add(asked)
    case.claimed_by, case.lease_until = None, None
    session.flush()
    audit.record(session, actor=actor, action="case.second_opinion", subject=f"case:{case_id}")
    return asked


def _follow_up(session: Session, case: Case, decision: Decision, actor: str) -> None:
    """A confirmed or forwarded case is followed until its content is gone; a revision that
    un-confirms it ends that."""
    from triage_api import takedowns  # takedowns drafts notices, which read decisions

    if decision.outcome in ("illegal", "forward"):
        takedowns.start(session, case, decision)
    else:
        takedowns.close(session, case.id, actor=actor, why=f"revised to {decision.outcome}")


def standing_decision(session: Session, case_id: int) -> Decision | None:
    """The decision in force: the latest that closed the case or revised it."""
    return session.scalars(
        sa.select(Decision)
        .where(Decision.case_id == case_id, Decision.outcome.in_(OUTCOMES))
        .order_by(Decision.id.desc())
        .limit(1)
    ).first()


def history(session: Session, case_id: int) -> list[dict[str, Any]]:
    """Every decision, second opinion and revision of the case, oldest first, with who made it."""
    rows = session.execute(
        sa.select(Decision, User.name)
        .join(User, User.id == Decision.user_id)
        .where(Decision.case_id == case_id)
        .order_by(Decision.id)
    ).all()
    return [
        {
            "id": d.id,
            "outcome": d.outcome,
            "category": d.category,
            "legal_basis": d.legal_basis,
            "duplicate_of": d.duplicate_of,
            "note": d.note,
            "media": d.media,
            "revises": d.revises_id,
            "reason": d.reason,
            "by": name,
            "at": d.created_at.isoformat(),
        }
        for d, name in rows
    ]


def list_case_media(
    session: Session, decision: Decision, *, only: Iterable[str] | None = None
) -> int:
    """Put the hashes of the case's pictures on the lists `decision` says; count rows listed.

    Pictures with their own verdict follow it; the others follow the case. `only` narrows the
    pictures (when another case's revision withdrew them).
    """
    if decision.outcome not in LISTED:
        return 0
    own = {v["sha256"]: v for v in decision.media or []}
    wanted = set(only) if only is not None else None
    # The case's own list is opened even for a page without pictures, so it shows in the lists.
    case_key = (
        ("illegal", decision.category) if decision.outcome == "illegal" else ("not_illegal", None)
    )
    by_list: dict[tuple[str, str | None], list[Media]] = {case_key: []}
    for item in _case_media(session, decision.case_id):
        if wanted is not None and item.sha256 not in wanted:
            continue
        verdict = own.get(item.sha256, {"outcome": decision.outcome, "category": decision.category})
        key = (
            ("illegal", verdict.get("category") or decision.category)
            if verdict["outcome"] == "illegal"
            else ("not_illegal", None)
        )
        by_list.setdefault(key, []).append(item)
    added = 0
    for (verdict_outcome, category), media in sorted(by_list.items(), key=str):
        if verdict_outcome == "illegal" and category:
            target = open_list(
                session,
                name=CONFIRMED_LIST.format(category=category),
                category=category,
                fallback_source=SOURCE,
            )[0]
        else:
            target = open_list(
                session, name=ALLOW_LIST, category="benign", fallback_source=SOURCE, kind="allow"
            )[0]
            category = None
        added += _put_on_list(session, _hash_rows(media, target, category, decision.case_id))
    return added


def _checked(
    session: Session,
    case_id: int,
    outcome: str,
    category: str | None,
    duplicate_of: int | None,
    media: Sequence[MediaVerdict],
) -> list[dict[str, Any]]:
    """Refuse a decision that does not hold together; the per-picture verdicts as stored."""
    if outcome not in OUTCOMES:
        raise DecisionError(f"outcome must be one of {', '.join(OUTCOMES)}")
    if outcome == "illegal":
        _harmful(category, "an illegal decision")
    if outcome == "duplicate" and duplicate_of is None:
        raise DecisionError("a duplicate decision needs the case it duplicates (duplicate_of)")
    if duplicate_of is not None and (
        duplicate_of == case_id or session.get(Case, duplicate_of) is None
    ):
        raise DecisionError(f"duplicate_of must be another existing case, not {duplicate_of}")
    if not media:
        return []
    if outcome != "illegal":
        raise DecisionError("verdicts per picture belong to an illegal decision")
    captured = {item.sha256 for item in _case_media(session, case_id)}
    stored: dict[str, dict[str, Any]] = {}
    for verdict in media:
        if verdict.sha256 not in captured:
            raise DecisionError(f"picture {verdict.sha256[:16]}… was not captured for this case")
        if verdict.outcome not in LISTED:
            raise DecisionError(f"a picture's verdict must be one of {', '.join(LISTED)}")
        row: dict[str, Any] = {"sha256": verdict.sha256, "outcome": verdict.outcome}
        if verdict.outcome == "illegal":
            picked = verdict.category or category
            _harmful(picked, "an illegal picture")
            row["category"] = picked
            row["legal_basis"] = _basis(picked, verdict.legal_basis)
        stored[verdict.sha256] = row
    return list(stored.values())


def _harmful(category: str | None, what: str) -> None:
    if not category:
        raise DecisionError(f"{what} needs the category")
    try:
        check_category(category)
    except ValueError as exc:
        raise DecisionError(str(exc)) from None
    if category == "benign":
        raise DecisionError(f"{what} needs a harmful category, not benign")


def _basis(category: str | None, given: str | None) -> str | None:
    """The legal basis the analyst gave, else the taxonomy's for the category."""
    if given and given.strip():
        return given.strip()
    return taxonomy()[category].legal_basis if category else None


def _case_media(session: Session, case_id: int) -> list[Media]:
    captured = (
        sa.select(CaptureMedia.media_sha256)
        .join(Capture, Capture.id == CaptureMedia.capture_id)
        .where(Capture.case_id == case_id, Capture.kind == "initial")  # not what rechecks saw
    )
    return list(
        session.scalars(sa.select(Media).where(Media.sha256.in_(captured)).order_by(Media.sha256))
    )


def _hash_rows(
    media: list[Media], hash_list: HashList, category: str | None, case_id: int
) -> list[dict[str, object]]:
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
                "note": _owner(case_id),
            }
            for kind, value, quality in hashes
        )
    return rows


def _owner(case_id: int) -> str:
    return f"case {case_id}"


def _put_on_list(session: Session, rows: list[dict[str, object]]) -> int:
    """Insert the rows; one withdrawn earlier comes back under its new owner. Count both."""
    listed = 0
    for start in range(0, len(rows), 1000):
        insert = upsert_for(session)(KnownHash).values(rows[start : start + 1000])
        result = session.execute(
            insert.on_conflict_do_update(
                index_elements=["list_id", "hash_type", "value"],
                set_={
                    "withdrawn_at": None,
                    "note": insert.excluded.note,
                    "category": insert.excluded.category,
                    "media_sha256": insert.excluded.media_sha256,
                },
                where=KnownHash.withdrawn_at.is_not(None),
            )
        )
        listed += max(getattr(result, "rowcount", 0) or 0, 0)
    return listed


def _hotline_lists() -> sa.Select[Any]:
    return sa.select(HashList.id).where(
        sa.or_(HashList.name.like(CONFIRMED_LIST.format(category="%")), HashList.name == ALLOW_LIST)
    )


def _withdraw(session: Session, case_id: int) -> tuple[set[str], list[int]]:
    """Take back every hash the case put on the hotline's lists: the pictures they came from
    and the hashes' ids."""
    mine = sa.and_(
        KnownHash.note == _owner(case_id),
        KnownHash.withdrawn_at.is_(None),
        KnownHash.list_id.in_(_hotline_lists()),
    )
    rows = session.execute(sa.select(KnownHash.id, KnownHash.media_sha256).where(mine)).all()
    pictures = {sha for _, sha in rows if sha is not None}
    session.execute(
        sa.update(KnownHash)
        .where(mine)
        .values(withdrawn_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return pictures, [known for known, _ in rows]


def _back_to_scoring(session: Session, known_ids: list[int]) -> list[int]:
    """Open, scored cases that matched a withdrawn hash go back to scoring: their band may fall.
    A hash listed again by another case still counts when they are scored again."""
    if not known_ids:
        return []
    matched = sa.select(Match.case_id).where(Match.known_hash_id.in_(known_ids))
    cases = list(
        session.scalars(
            sa.select(Case.id)
            .where(Case.id.in_(matched), Case.status == "open", Case.stage == "ready")
            .order_by(Case.id)
        )
    )
    if cases:
        session.execute(
            sa.update(Case)
            .where(Case.id.in_(cases), Case.stage == "ready")
            .values(stage="score", stage_since=utcnow(), stage_attempts=0)
            .execution_options(synchronize_session=False)
        )
    return cases


def _relist_others(session: Session, case_id: int, pictures: set[str]) -> int:
    """Other decided cases that showed the withdrawn pictures list them again as they decided."""
    if not pictures:
        return 0
    others = session.scalars(
        sa.select(Capture.case_id)
        .join(CaptureMedia, CaptureMedia.capture_id == Capture.id)
        .where(CaptureMedia.media_sha256.in_(pictures), Capture.case_id != case_id)
        .distinct()
        .order_by(Capture.case_id)
    )
    listed = 0
    for other in list(others):
        standing = standing_decision(session, other)
        if standing is not None:
            listed += list_case_media(session, standing, only=pictures)
    return listed
