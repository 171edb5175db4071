"""A proactive sweep as the hotline runs it: seeds from its cases, the crawl (`crawler/sweep/`),
and a sink that reads every page and picture the way a capture is read. A page whose text the
model finds harmful (at the *likely* threshold, for categories text may establish) or that shows
a picture matching known material becomes a proactive case (source `sweep`) and goes through
the normal pipeline: capture, analyse, score. Pages already known as cases are left alone.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from sqlalchemy.orm import Session

from classifiers.hashing import hash_media
from classifiers.text_model import ModelUnavailable, TextClassifier
from crawler.sweep.run import Politeness, run
from crawler.sweep.scope import Scope
from crawler.sweep.spider import Budget, PageItem, PictureItem
from triage_api.config import Settings, get_settings
from triage_api.db import session_scope
from triage_api.intake import file_report, validate
from triage_api.matching import find_hits
from triage_api.models import Case, Sweep, utcnow
from triage_api.pipeline import egress_policy
from triage_api.sweep_seeds import Seed
from triage_api.taxonomy import taxonomy

log = logging.getLogger(__name__)
PROGRESS_EVERY = 20  # items between progress writes


@dataclass
class Tally:
    pages: int = 0
    pictures: int = 0
    hosts: set[str] = field(default_factory=set)
    new_cases: int = 0
    matches: int = 0
    errors: int = 0
    known: int = 0  # pages that were cases already
    proposed: set[str] = field(default_factory=set)


class SweepSink:
    """Reads what the spider hands over; proposes proactive cases."""

    def __init__(self, sweep_id: int, settings: Settings) -> None:
        self.sweep_id, self.settings = sweep_id, settings
        self.tally = Tally()
        self.queued: list[tuple[str, int]] = []  # (stage, case id) to queue after the crawl
        try:
            self.model: TextClassifier | None = TextClassifier(settings.text_model_path)
        except ModelUnavailable as exc:
            log.warning("sweep %s reads no text: %s", sweep_id, exc)
            self.model = None
        self._items = 0

    def __call__(self, item: PageItem | PictureItem) -> None:
        try:
            if isinstance(item, PageItem):
                self._page(item)
            else:
                self._picture(item)
        except Exception:  # one bad page must not end the sweep
            log.exception("sweep %s could not read %s", self.sweep_id, item.url)
            self.tally.errors += 1
        self._items += 1
        if self._items % PROGRESS_EVERY == 0:
            self.save("running")

    def _page(self, page: PageItem) -> None:
        self.tally.pages += 1
        self.tally.hosts.add((urlsplit(page.url).hostname or "").lower())
        if page.status >= 400:
            self.tally.errors += 1
            return
        if self.model is None:
            return
        score = self.model.classify([f"{page.title or ''}\n{page.text}"])[0]
        label = score.label
        probability = score.scores.get(label, 0.0)
        if (
            label != "benign"
            and probability >= self.settings.classifier_likely
            and taxonomy().allows(label, "text")
        ):
            self._propose(page.url, label, f"text reads as {label} ({probability:.2f})")

    def _picture(self, picture: PictureItem) -> None:
        self.tally.pictures += 1
        hashes = hash_media(picture.data, dihedral=self.settings.match_pdq_dihedral)
        with session_scope() as session:
            hits = [
                h
                for h in find_hits(session, {hashes.sha256: hashes.lookups()}, self.settings)
                if h.list_kind == "known"
            ]
        if hits:
            self.tally.matches += 1
            best = min(hits, key=lambda h: h.distance)
            reason = f"a picture matches {best.list_name} ({best.hash_type} {best.distance})"
            self._propose(picture.page_url, best.category, reason)

    def _propose(self, url: str, category: str | None, reason: str) -> None:
        if url in self.tally.proposed:
            return
        self.tally.proposed.add(url)
        try:
            canonical = validate(url, None, None, None)
        except ValueError:  # ReportRejected: not a URL the hotline takes
            return
        with session_scope() as session:
            if _known(session, canonical.url):
                self.tally.known += 1
                return
            filed = file_report(
                session,
                url=url,
                category=category if category in taxonomy().categories else None,
                comment=f"sweep {self.sweep_id}: {reason}"[:4000],
                channel="sweep",
                source="sweep",
            )
        self.tally.new_cases += 1
        if filed.next_stage:
            self.queued.append((filed.next_stage, filed.case_id))

    def save(self, status: str, finished_at: datetime | None = None, **extra: Any) -> None:
        with session_scope() as session:
            session.execute(
                sa.update(Sweep)
                .where(Sweep.id == self.sweep_id)
                .values(
                    status=status,
                    pages=self.tally.pages,
                    pictures=self.tally.pictures,
                    hosts=len(self.tally.hosts),
                    new_cases=self.tally.new_cases,
                    matches=self.tally.matches,
                    errors=self.tally.errors,
                    finished_at=finished_at,
                    **({"stats": extra["stats"]} if "stats" in extra else {}),
                )
            )


def _known(session: Session, canonical_url: str) -> bool:
    return (
        session.scalar(sa.select(Case.id).where(Case.canonical_url == canonical_url).limit(1))
        is not None
    )


def start(
    seeds: list[Seed],
    *,
    budget: Budget | None = None,
    manners: Politeness | None = None,
    settings: Settings | None = None,
) -> Sweep:
    """Run one sweep in this process (Scrapy's reactor: once per process) and queue the
    pipeline for the cases it opened; the sweep's row, finished."""
    from triage_api.tasks import enqueue

    settings = settings or get_settings()
    budget, manners = budget or Budget(), manners or Politeness()
    with session_scope() as session:
        sweep = Sweep(
            seeds=[seed.as_dict() for seed in seeds],
            options={"budget": vars(budget), "politeness": vars(manners)},
        )
        session.add(sweep)
        session.flush()
        sweep_id = sweep.id
    sink = SweepSink(sweep_id, settings)
    status, stats = "failed", {}
    try:
        stats = run(
            [seed.url for seed in seeds],
            policy=egress_policy(settings),
            sink=sink,
            scope=Scope(),
            budget=budget,
            manners=manners,
            job_dir=settings.resolved_data_dir / "sweeps" / str(sweep_id),
        )
        status = "finished"
    finally:
        summary = {
            "finish_reason": str(stats.get("finish_reason", "")),
            "skipped": stats.get("hotline/skipped", {}),
            "egress_refused": stats.get("hotline/egress_refused", 0),
            "already_cases": sink.tally.known,
            "responses": int(stats.get("response_received_count", 0) or 0),
        }
        sink.save(status, utcnow(), stats=summary)
    for stage, case_id in sink.queued:
        enqueue(stage, case_id)
    with session_scope() as session:
        done = session.get(Sweep, sweep_id)
        assert done is not None
        session.expunge(done)
        return done


def recent(session: Session, limit: int = 20) -> list[Sweep]:
    return list(session.scalars(sa.select(Sweep).order_by(Sweep.id.desc()).limit(limit)))
