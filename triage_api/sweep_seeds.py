"""Where a proactive sweep starts: what the hotline already knows (issue 8).

- `confirmed`: the URL and the site root of every case whose decision in force is illegal;
- `outlink`: the in-scope links on those cases' captured pages (mirrors and shops link out);
- `same_server`: the site roots of other cases captured from the same server address as a
  confirmed case (a hosting box that serves one illegal shop often serves its siblings);
- `high_score`: cases the scoring put in the *likely* band or above that no analyst confirmed or
  cleared yet.

Every seed carries its reason and case, is in the sweep's scope (Kaznet by default) and appears
once; the set is stored with the sweep so a report can say why a page was visited.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased

from crawler.evidence import EvidenceError, EvidenceStore
from crawler.sweep.links import page_links
from crawler.sweep.scope import Scope
from triage_api.decisions import OUTCOMES
from triage_api.models import Capture, Case, Decision

KINDS = ("confirmed", "outlink", "same_server", "high_score")
LIKELY_BAND = 2
MAX_OUTLINKS_PER_CASE = 100


@dataclass(frozen=True, slots=True)
class Seed:
    url: str
    kind: str  # one of KINDS
    case_id: int

    def as_dict(self) -> dict[str, object]:
        return {"url": self.url, "kind": self.kind, "case_id": self.case_id}


def seeds_from_cases(
    session: Session,
    store: EvidenceStore,
    *,
    scope: Scope | None = None,
    kinds: Iterable[str] = KINDS,
    limit: int = 1000,
) -> list[Seed]:
    """The seed set, confirmed cases first; at most `limit`."""
    scope = scope or Scope()
    wanted = set(kinds)
    unknown = wanted - set(KINDS)
    if unknown:
        raise ValueError(
            f"unknown seed kinds: {', '.join(sorted(unknown))}; use {', '.join(KINDS)}"
        )
    confirmed = _confirmed(session)
    found: list[Seed] = []
    if "confirmed" in wanted:
        for case_id, url in confirmed:
            found += [Seed(url, "confirmed", case_id), Seed(_root(url), "confirmed", case_id)]
    if "outlink" in wanted:
        for case_id, _ in confirmed:
            found += [Seed(link, "outlink", case_id) for link in _outlinks(session, store, case_id)]
    if "same_server" in wanted:
        found += _same_server(session, [case_id for case_id, _ in confirmed])
    if "high_score" in wanted:
        found += [Seed(url, "high_score", case_id) for case_id, url in _high_score(session)]
    seen: set[str] = set()
    kept: list[Seed] = []
    for seed in found:
        if seed.url in seen or not scope.allows(seed.url):
            continue
        seen.add(seed.url)
        kept.append(seed)
        if len(kept) >= limit:
            break
    return kept


def _standing() -> sa.Subquery:
    """Each case's decision in force: the latest closing or revising one."""
    latest = (
        sa.select(Decision.case_id, sa.func.max(Decision.id).label("id"))
        .where(Decision.outcome.in_(OUTCOMES))
        .group_by(Decision.case_id)
        .subquery()
    )
    decision = aliased(Decision)
    return (
        sa.select(decision.case_id, decision.outcome)
        .join(latest, latest.c.id == decision.id)
        .subquery()
    )


def _confirmed(session: Session) -> list[tuple[int, str]]:
    standing = _standing()
    return [
        (case_id, url)
        for case_id, url in session.execute(
            sa.select(Case.id, Case.canonical_url)
            .join(standing, standing.c.case_id == Case.id)
            .where(standing.c.outcome == "illegal")
            .order_by(Case.id)
        )
    ]


def _outlinks(session: Session, store: EvidenceStore, case_id: int) -> list[str]:
    capture = session.scalar(
        sa.select(Capture)
        .where(
            Capture.case_id == case_id, Capture.kind == "initial", Capture.html_sha256.is_not(None)
        )
        .order_by(Capture.id)
        .limit(1)
    )
    if capture is None or capture.html_sha256 is None:
        return []
    try:
        html = store.get(capture.html_sha256).decode("utf-8", "replace")
    except EvidenceError:
        return []
    base = capture.final_url or capture.requested_url
    return [urljoin(base, href) for href in page_links(html)][:MAX_OUTLINKS_PER_CASE]


def _same_server(session: Session, confirmed: list[int]) -> list[Seed]:
    if not confirmed:
        return []
    ours = aliased(Capture)
    theirs = aliased(Capture)
    rows = session.execute(
        sa.select(ours.case_id, Case.canonical_url)
        .join(theirs, sa.and_(theirs.server_ip == ours.server_ip, theirs.case_id != ours.case_id))
        .join(Case, Case.id == theirs.case_id)
        .where(ours.case_id.in_(confirmed), ours.server_ip.is_not(None))
        .distinct()
        .order_by(ours.case_id, Case.canonical_url)
    ).all()
    return [Seed(_root(url), "same_server", case_id) for case_id, url in rows]


def _high_score(session: Session) -> list[tuple[int, str]]:
    standing = _standing()
    return [
        (case_id, url)
        for case_id, url in session.execute(
            sa.select(Case.id, Case.canonical_url)
            .outerjoin(standing, standing.c.case_id == Case.id)
            .where(
                Case.band >= LIKELY_BAND,
                sa.or_(
                    standing.c.outcome.is_(None),
                    standing.c.outcome.not_in(("illegal", "not_illegal")),
                ),
            )
            .order_by(Case.band.desc(), Case.rank_key.desc())
        )
    ]


def _root(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}/"
