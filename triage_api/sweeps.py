"""A proactive sweep as the hotline runs it: seeds from its cases, the crawl (`crawler/sweep/`),
and a sink that reads every page and picture the way a capture is read. A page whose text the
model finds harmful (at the *likely* threshold, for categories text may establish) or that shows
a picture matching known material becomes a proactive case (source `sweep`) and goes through
the normal pipeline: capture, analyse, score. Pages already known as cases are left alone.

With a Redis broker a sweep's frontier lives in Redis, and any number of processes on any
machines work it together (`work`); the last one out finds the frontier drained and closes the
sweep. Without Redis (the embedded demo) one process runs the sweep, resumable from its job
directory.
"""

from __future__ import annotations

import hashlib
import logging
import os
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from sqlalchemy.orm import Session

from classifiers.hashing import hash_media
from classifiers.text_model import ModelUnavailable, TextClassifier
from crawler.browser import BrowserNotFound, find_chromium
from crawler.sweep.frontier import Frontier, Progress
from crawler.sweep.halt import REASON as STOP_REASON
from crawler.sweep.run import Politeness, Shared, run
from crawler.sweep.scope import Scope
from crawler.sweep.spider import Budget, Memory, PageItem, PictureItem
from triage_api.config import Settings, get_settings
from triage_api.db import session_scope
from triage_api.intake import file_report, validate
from triage_api.matching import find_hits
from triage_api.models import Case, Sweep, SweepFind, SweptPage, utcnow
from triage_api.pipeline import egress_policy
from triage_api.sqlutil import insert_ignore, upsert_for
from triage_api.sweep_seeds import Seed
from triage_api.sweep_stop import AT_WORK, STALE_S, asked_to_stop
from triage_api.taxonomy import taxonomy

log = logging.getLogger(__name__)
PROGRESS_EVERY = 20  # items between progress writes
MAX_REMEMBERED_LINKS = 500
COUNTERS = ("pages", "pictures", "new_cases", "matches", "errors")


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
    """Reads what the spider hands over in this process; proposes proactive cases. Its figures
    are added to the sweep's row, so several processes' sinks sum up."""

    def __init__(
        self,
        sweep_id: int,
        settings: Settings,
        progress: Callable[[], Progress] | None = None,
    ) -> None:
        self.sweep_id, self.settings, self.progress = sweep_id, settings, progress
        self.tally = Tally()
        self._saved: dict[str, int] = dict.fromkeys(COUNTERS, 0)
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
            self.save()

    def _page(self, page: PageItem) -> None:
        self.tally.pages += 1
        self.tally.hosts.add((urlsplit(page.url).hostname or "").lower())
        self._remember(page)
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

    def _remember(self, page: PageItem) -> None:
        """Record the page and its links, for later sweeps' URL dedup."""
        row = {
            "url_key": url_key(page.url),
            "url": page.url,
            "sweep_id": self.sweep_id,
            "status": page.status,
            "links": page.links[:MAX_REMEMBERED_LINKS],
            "fetched_at": utcnow(),
        }
        with session_scope() as session:
            insert = upsert_for(session)(SweptPage).values(row)
            fresh = {k: insert.excluded[k] for k in ("sweep_id", "status", "links", "fetched_at")}
            session.execute(insert.on_conflict_do_update(index_elements=["url_key"], set_=fresh))

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
        category = category if category in taxonomy().categories else None
        with session_scope() as session:
            if _known(session, canonical.url):
                self.tally.known += 1
                return
            filed = file_report(
                session,
                url=url,
                category=category,
                comment=f"sweep {self.sweep_id}: {reason}"[:4000],
                channel="sweep",
                source="sweep",
            )
            row = {
                "sweep_id": self.sweep_id,
                "case_id": filed.case_id,
                "url": url,
                "category": category,
                "reason": reason[:2000],
                "found_at": utcnow(),
            }
            insert_ignore(session, SweepFind, [row])
        if filed.new_case:
            self.tally.new_cases += 1
        if filed.next_stage:
            self.queued.append((filed.next_stage, filed.case_id))

    def save(self) -> None:
        """Add what this process counted since its last save to the sweep's row."""
        now = {name: int(getattr(self.tally, name)) for name in COUNTERS}
        delta = {name: now[name] - self._saved[name] for name in COUNTERS}
        progress = self.progress() if self.progress else None
        hosts = progress.hosts if progress else len(self.tally.hosts)
        table = Sweep.__table__
        values: dict[str, Any] = {
            name: table.c[name] + delta[name] for name in COUNTERS if delta[name]
        }
        values["hosts"] = sa.func.greatest(table.c.hosts, hosts)
        values["heartbeat_at"] = utcnow()
        with session_scope() as session:
            if session.get_bind().dialect.name != "postgresql":
                values["hosts"] = sa.func.max(table.c.hosts, hosts)
            session.execute(sa.update(Sweep).where(Sweep.id == self.sweep_id).values(**values))
            if progress:
                _merge_stats(session, self.sweep_id, {}, progress)
        self._saved = now


def url_key(url: str) -> str:
    return hashlib.sha256(url.encode("utf-8", "surrogatepass")).hexdigest()


def _known(session: Session, canonical_url: str) -> bool:
    return (
        session.scalar(sa.select(Case.id).where(Case.canonical_url == canonical_url).limit(1))
        is not None
    )


def _merge_stats(
    session: Session, sweep_id: int, added: dict[str, Any], progress: Progress | None
) -> None:
    """Fold one process's figures into the sweep's stats, under the row's lock."""
    sweep = session.scalars(sa.select(Sweep).where(Sweep.id == sweep_id).with_for_update()).one()
    stats = dict(sweep.stats or {})
    for name, value in added.items():
        if name == "skipped":
            merged = Counter(stats.get("skipped", {}))
            merged.update(value)
            stats["skipped"] = dict(merged)
        elif isinstance(value, int):
            stats[name] = int(stats.get(name, 0)) + value
        else:
            stats[name] = value
    if progress is not None:
        stats["pending"] = progress.waiting + progress.held
        stats["processes"] = progress.workers
        stats["requests"] = {"queued": progress.queued, "done": progress.done}
    sweep.stats = stats


def frontier_url(settings: Settings) -> str | None:
    """The broker's Redis, where sweeps share their frontier; None without one."""
    url = settings.broker_url or ""
    return url if url.startswith(("redis://", "rediss://", "unix://")) else None


def open_sweep(
    seeds: list[Seed],
    *,
    budget: Budget | None = None,
    manners: Politeness | None = None,
    render: str = "never",
    trigger: str = "manual",
    settings: Settings | None = None,
) -> int:
    """Store a sweep with its seeds and options; processes then `work` it."""
    settings = settings or get_settings()
    budget, manners = budget or Budget(), manners or Politeness()
    with session_scope() as session:
        sweep = Sweep(
            seeds=[seed.as_dict() for seed in seeds],
            options={"budget": vars(budget), "politeness": vars(manners), "render": render},
            trigger=trigger,
            heartbeat_at=utcnow(),
        )
        session.add(sweep)
        session.flush()
        if frontier_url(settings):
            sweep.frontier = f"hotline:sweep:{sweep.id}"
        return int(sweep.id)


def memory_for(sweep_id: int, settings: Settings) -> Memory | None:
    """Links of pages another sweep fetched within the revisit window (URL dedup across
    sweeps); None when the window is 0."""
    if settings.sweep_revisit_h <= 0:
        return None
    window = timedelta(hours=settings.sweep_revisit_h)

    def remembered(url: str) -> list[str] | None:
        with session_scope() as session:
            links = session.scalar(
                sa.select(SweptPage.links).where(
                    SweptPage.url_key == url_key(url),
                    SweptPage.sweep_id != sweep_id,
                    SweptPage.status < 400,
                    SweptPage.fetched_at >= utcnow() - window,
                )
            )
        return list(links) if links is not None else None

    return remembered


def work(sweep_id: int, *, settings: Settings | None = None, opened: bool = False) -> Sweep:
    """Work the sweep in this process until its frontier is drained or the time limit ends it
    (Scrapy's reactor: once per process), then queue the pipeline for the cases it opened.
    A sweep without a shared frontier has one process: another may take it over only once it
    has been silent for `STALE_S` (`opened`: this process just opened it)."""
    from triage_api.tasks import enqueue

    settings = settings or get_settings()
    with session_scope() as session:
        sweep = session.get(Sweep, sweep_id)
        if sweep is None:
            raise LookupError(f"no sweep {sweep_id}")
        if sweep.status != "running":
            raise ValueError(f"sweep {sweep_id} is {sweep.status}, not running")
        silent = utcnow() - (sweep.heartbeat_at or sweep.started_at)
        if sweep.frontier is None and not opened and silent < timedelta(seconds=STALE_S):
            raise ValueError(
                f"sweep {sweep_id} has no shared frontier and a process is at work on it"
            )
        seeds = [seed["url"] for seed in sweep.seeds]
        budget = Budget(**sweep.options.get("budget", {}))
        manners = Politeness(**sweep.options.get("politeness", {}))
        render = _renderable(str(sweep.options.get("render", "never")), settings)
        key = sweep.frontier
    redis_url = frontier_url(settings)
    shared = Shared(redis_url, key) if redis_url and key else None
    frontier = Frontier.connect(redis_url, key) if shared and redis_url and key else None
    sink = SweepSink(sweep_id, settings, frontier.progress if frontier else None)
    stats: dict[str, Any] = {}
    try:
        stats = run(
            seeds,
            policy=egress_policy(settings),
            sink=sink,
            scope=Scope(),
            budget=budget,
            manners=manners,
            job_dir=settings.resolved_data_dir / "sweeps" / str(sweep_id),
            shared=shared,
            memory=memory_for(sweep_id, settings),
            render=render,
            halt=lambda: asked_to_stop(sweep_id),
        )
    finally:
        sink.save()
        _close(sweep_id, sink, stats, frontier)
    for stage, case_id in sink.queued:
        enqueue(stage, case_id)
    with session_scope() as session:
        done = session.get(Sweep, sweep_id)
        assert done is not None
        session.expunge(done)
        return done


def _renderable(render: str, settings: Settings) -> str:
    """The sweep's render mode, or `never` (logged) on a machine without Chromium: the plain
    sweep is still worth doing."""
    if render == "never":
        return render
    try:
        find_chromium(settings.chromium_path)
    except BrowserNotFound as exc:
        log.warning("sweep reads pages without a browser here: %s", exc)
        return "never"
    return render


def _close(
    sweep_id: int, sink: SweepSink, stats: dict[str, Any], frontier: Frontier | None
) -> None:
    """This process's figures into the row; the sweep closed if nothing is left to do."""
    reason = str(stats.get("finish_reason", "")) or "failed"
    added = {
        "skipped": stats.get("hotline/skipped", {}),
        "egress_refused": int(stats.get("hotline/egress_refused", 0) or 0),
        "already_cases": sink.tally.known,
        "responses": int(stats.get("response_received_count", 0) or 0),
        "finish_reason": reason,
    }
    progress = frontier.progress() if frontier else None
    if progress is None:
        ended = {"finished": "finished", STOP_REASON: "stopped"}
        status: str | None = ended.get(reason, "failed")
    elif progress.drained:
        status = "finished"
    elif progress.workers == 0:  # the last process out, with work left: a stop, a time limit,
        status = "stopped"  # or a crash
    else:
        status = None  # others are still at work: the last of them closes the sweep
    with session_scope() as session:
        _merge_stats(session, sweep_id, added, progress)
        if status is not None:
            session.execute(
                sa.update(Sweep)
                .where(Sweep.id == sweep_id, Sweep.status.in_(AT_WORK))
                .values(status=status, finished_at=utcnow())
            )
    if frontier is not None and status == "finished":
        frontier.forget()  # what it found is in PostgreSQL now


def resume(sweep_id: int) -> bool:
    """A stopped sweep (asked to stop, time limit, every process lost) runs again from its
    frontier; whether this call restarted it (then no other process is at work on it)."""
    with session_scope() as session:
        restarted = session.execute(
            sa.update(Sweep)
            .where(Sweep.id == sweep_id, Sweep.status == "stopped")
            .values(status="running", finished_at=None, heartbeat_at=utcnow())
        )
        return bool(getattr(restarted, "rowcount", 0))


def worker_command(sweep_id: int) -> list[str]:
    return [sys.executable, "-m", "triage_api.cli", "sweep", "join", str(sweep_id)]


def start(
    seeds: list[Seed],
    *,
    budget: Budget | None = None,
    manners: Politeness | None = None,
    render: str = "never",
    processes: int = 1,
    trigger: str = "manual",
    settings: Settings | None = None,
) -> Sweep:
    """Open a sweep and work it: in this process, or in `processes` child processes sharing the
    frontier (each runs `hotline sweep join`); the sweep's row when they are done."""
    settings = settings or get_settings()
    sweep_id = open_sweep(
        seeds, budget=budget, manners=manners, render=render, trigger=trigger, settings=settings
    )
    if processes <= 1 or not frontier_url(settings):
        return work(sweep_id, settings=settings, opened=True)
    children = [
        subprocess.Popen(worker_command(sweep_id), env=dict(os.environ)) for _ in range(processes)
    ]
    for child in children:
        child.wait()
    with session_scope() as session:
        done = session.get(Sweep, sweep_id)
        assert done is not None
        session.expunge(done)
        return done


def configured(settings: Settings) -> tuple[Budget, Politeness]:
    """The budgets and manners a scheduled sweep runs with."""
    budget = Budget(
        max_pages=settings.sweep_max_pages,
        max_pages_per_host=settings.sweep_max_pages_per_host,
        max_depth=settings.sweep_max_depth,
    )
    manners = Politeness(
        per_host_concurrency=settings.sweep_per_host_concurrency,
        delay_s=settings.sweep_delay_s,
        time_limit_s=settings.sweep_time_limit_s,
    )
    return budget, manners


def schedule_nightly(settings: Settings | None = None) -> int | None:
    """Open the nightly sweep from the cases and hand it to the sweep queue; its id, or None
    when there is nothing to seed it or the last scheduled sweep is still at work."""
    from crawler.evidence import EvidenceStore
    from triage_api.sweep_seeds import seeds_from_cases
    from triage_api.tasks import queue_sweep_work

    settings = settings or get_settings()
    with session_scope() as session:
        busy = session.scalar(
            sa.select(Sweep.id).where(
                Sweep.trigger == "schedule",
                Sweep.status.in_(AT_WORK),
                Sweep.heartbeat_at >= utcnow() - timedelta(seconds=STALE_S),
            )
        )
        if busy is not None:
            log.warning("nightly sweep skipped: sweep %s is still at work", busy)
            return None
        seeds = seeds_from_cases(session, EvidenceStore(settings.evidence_dir))
    if not seeds:
        log.info("nightly sweep skipped: no case to seed it from")
        return None
    budget, manners = configured(settings)
    sweep_id = open_sweep(
        seeds,
        budget=budget,
        manners=manners,
        render=settings.sweep_render,
        trigger="schedule",
        settings=settings,
    )
    processes = settings.sweep_processes if frontier_url(settings) else 1
    queue_sweep_work(sweep_id, processes)
    return sweep_id


def recent(session: Session, limit: int = 20) -> list[Sweep]:
    return list(session.scalars(sa.select(Sweep).order_by(Sweep.id.desc()).limit(limit)))
