"""Celery tasks: thin wrappers that take a case id and call the pipeline stage.

Each task is idempotent (the stage's compare-and-set), acknowledged late, time-limited, and queues
the next stage only after its own commit.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from celery import Task
from celery.signals import worker_process_shutdown

from crawler.capture_host import close_hosts
from triage_api import pipeline
from triage_api.celery_app import ANALYSIS_QUEUE, CAPTURE_QUEUE, SWEEP_QUEUE, app
from triage_api.config import get_settings

log = logging.getLogger(__name__)
TRANSIENT = (ConnectionError, TimeoutError, OSError)
RECHECK_BATCH = 25  # light rechecks fetched together by one task


def enqueue(stage: str, case_id: int) -> bool:
    """Queue a stage's job; a broker failure is logged, and the reconciler retries later."""
    task = {"capture": capture, "analyse": analyse, "score": score}[stage]
    try:
        task.apply_async(
            args=[case_id], queue=CAPTURE_QUEUE if stage == "capture" else ANALYSIS_QUEUE
        )
    except Exception:
        log.exception("could not queue %s for case %s; the reconciler will retry", stage, case_id)
        return False
    return True


@worker_process_shutdown.connect
def _close_browsers(**_: object) -> None:
    """A worker process that stops takes its warm browser with it."""
    close_hosts()


def _capture_limit() -> int:
    return int(get_settings().capture_timeout_s) + 60


@app.task(
    name="hotline.capture",
    bind=True,
    max_retries=2,
    time_limit=_capture_limit(),
    autoretry_for=TRANSIENT,
    retry_backoff=5,
    retry_backoff_max=120,
    retry_jitter=True,
)
def capture(self: Task, case_id: int) -> str:
    job = pipeline.begin_capture(case_id)
    if job is None:
        return "skipped"
    result = pipeline.take_capture(job.url, warm=True)
    if result.should_retry and self.request.retries < self.max_retries:
        log.info("capture of case %s: %s; retrying", case_id, result.error)
        raise self.retry(countdown=5 * 2**self.request.retries)
    enrichment = pipeline.enrich_capture(result)
    if pipeline.store_capture(case_id, result, enrichment):
        enqueue("analyse", case_id)
        return result.outcome
    return "already captured"


@app.task(name="hotline.analyse", autoretry_for=TRANSIENT, retry_backoff=2, max_retries=5)
def analyse(case_id: int) -> str:
    if pipeline.analyse(case_id):
        enqueue("score", case_id)
        return "analysed"
    return "skipped"


@app.task(name="hotline.score", autoretry_for=TRANSIENT, retry_backoff=2, max_retries=5)
def score(case_id: int) -> str:
    return "scored" if pipeline.score(case_id) else "skipped"


@app.task(name="hotline.reconcile", time_limit=120)
def reconcile() -> int:
    """Re-queue every case stuck in a stage past its limit; give up capturing after N attempts."""
    settings = get_settings()
    count = 0
    for case_id, stage, attempts, url in pipeline.stuck_cases():
        count += 1
        if stage == "capture" and attempts > settings.stage_max_attempts:
            error = f"capture gave up after {attempts - 1} attempts (worker lost or timed out)"
            if pipeline.record_failed_capture(case_id, url, error):
                enqueue("analyse", case_id)
            continue
        log.warning("case %s stuck in %s; re-queueing (attempt %s)", case_id, stage, attempts)
        enqueue(stage, case_id)
    return count


@app.task(name="hotline.audit_seal", time_limit=120)
def audit_seal() -> int:
    """Chain the audit entries old enough to be complete (`triage_api/audit_chain.py`)."""
    from triage_api import audit_chain
    from triage_api.db import session_scope

    with session_scope() as session:
        return audit_chain.seal(session)


@app.task(name="hotline.takedown_tick", time_limit=120)
def takedown_tick() -> dict[str, int]:
    """Celery beat's takedown step: send what is queued, escalate what is overdue, recheck what
    is due. Everything it hands out is leased or compare-and-set, so two ticks never double."""
    from triage_api.models import utcnow

    return takedown_work(utcnow())


def takedown_work(now: datetime) -> dict[str, int]:
    """One tick at `now` (tests pass their own clock)."""
    from triage_api import notices, reporter_updates, takedowns
    from triage_api.db import session_scope

    settings = get_settings()
    with session_scope() as session:
        notices.stale_sending(session, now)
        updates = reporter_updates.queued(session)
        queued = takedowns.escalate_due(session, now)
        waiting = notices.waiting(session, now - timedelta(seconds=settings.recheck_tick_s), now)
        due = takedowns.claim_due(session, now, settings.recheck_batch, settings.recheck_lease_s)
    for notice_id in sorted({*queued, *waiting}):
        send_later(notice_id)
    for update_id in updates:
        try:
            send_reporter_update.apply_async(args=[update_id], queue=ANALYSIS_QUEUE)
        except Exception:
            log.exception("could not queue reporter update %s; the next tick retries", update_id)
    for start in range(0, len(due), RECHECK_BATCH):
        items = [(t, at.isoformat()) for t, at in due[start : start + RECHECK_BATCH]]
        try:
            recheck_light.apply_async(args=[items], queue=ANALYSIS_QUEUE)
        except Exception:
            log.exception("could not queue rechecks; their leases expire and the tick retries")
    return {"notices": len({*queued, *waiting}), "rechecks": len(due), "reporters": len(updates)}


def send_later(notice_id: int) -> None:
    """Queue the sender for a notice; on a broker failure the next tick queues it again."""
    try:
        send_notice.apply_async(args=[notice_id], queue=ANALYSIS_QUEUE)
    except Exception:
        log.exception("could not queue notice %s; the takedown tick will retry", notice_id)


@app.task(name="hotline.send_notice", bind=True, max_retries=20, time_limit=120)
def send_notice(self: Task, notice_id: int) -> str:
    """Deliver one notice over SMTP; a failure goes back to `queued` and is retried later."""
    import smtplib

    from triage_api import notices
    from triage_api.db import session_scope

    settings = get_settings()
    with session_scope() as session:
        notice = notices.take_for_sending(session, notice_id)
        if notice is None:
            return "not queued"
        session.expunge(notice)
    try:
        notices.deliver(notice, settings)
    except (smtplib.SMTPException, OSError) as exc:
        with session_scope() as session:
            current = session.get(type(notice), notice_id)
            assert current is not None
            again = notices.not_sent(
                session, current, f"{type(exc).__name__}: {exc}", settings.notice_send_attempts
            )
        if again:
            raise self.retry(countdown=min(600, 15 * 2**notice.attempts)) from None
        return "failed"
    with session_scope() as session:
        current = session.get(type(notice), notice_id)
        assert current is not None
        notices.sent(session, current)
    return "sent"


@app.task(name="hotline.send_reporter_update", time_limit=120)
def send_reporter_update(update_id: int) -> str:
    """E-mail a reporter where their report stands; a failure is retried by the next tick."""
    from triage_api import reporter_updates

    return reporter_updates.send(update_id)


@app.task(name="hotline.recheck_light", time_limit=600)
def recheck_light(items: list[tuple[int, str]]) -> int:
    """Recheck a batch over plain HTTP; pages it cannot judge go to the browser."""
    from triage_api import rechecks

    batch = [(int(t), datetime.fromisoformat(at)) for t, at in items]
    for due in rechecks.run_light(batch):
        try:
            recheck_full.apply_async(
                args=[due.takedown_id, due.due_at.isoformat()], queue=CAPTURE_QUEUE
            )
        except Exception:
            log.exception("could not queue a full recheck; the lease expires and it runs again")
    return len(batch)


@app.task(name="hotline.recheck_full", time_limit=_capture_limit())
def recheck_full(takedown_id: int, due_at: str) -> str:
    from triage_api import rechecks

    return rechecks.run_full(takedown_id, datetime.fromisoformat(due_at)) or "not due"


@app.task(name="hotline.sweep_nightly", time_limit=300)
def sweep_nightly() -> int | None:
    """Celery beat's nightly sweep: seeds from the cases, the configured budgets, and one
    `hotline.sweep_work` task per process; none while an earlier scheduled sweep still runs."""
    from triage_api import sweeps

    return sweeps.schedule_nightly()


@app.task(name="hotline.sweep_work", time_limit=int(get_settings().sweep_time_limit_s) + 900)
def sweep_work(sweep_id: int) -> int:
    """One process of a sweep. Scrapy's reactor runs once per process, so the crawl runs in a
    child (`hotline sweep join`); a task delivered twice only adds a process to the sweep."""
    import subprocess

    from triage_api import sweeps

    limit = get_settings().sweep_time_limit_s + 600
    done = subprocess.run(sweeps.worker_command(sweep_id), timeout=limit, check=False)
    return done.returncode


def queue_sweep_work(sweep_id: int, processes: int) -> int:
    """Hand a sweep to `processes` sweep tasks; how many were queued."""
    queued = 0
    for _ in range(processes):
        try:
            sweep_work.apply_async(args=[sweep_id], queue=SWEEP_QUEUE)
            queued += 1
        except Exception:
            log.exception("could not queue a process for sweep %s", sweep_id)
    return queued
