"""Celery tasks: thin wrappers that take a case id and call the pipeline stage.

Each task is idempotent (the stage's compare-and-set), acknowledged late, time-limited, and queues
the next stage only after its own commit.
"""

from __future__ import annotations

import logging

from celery import Task
from celery.signals import worker_process_shutdown

from crawler.capture_host import close_hosts
from triage_api import pipeline
from triage_api.celery_app import ANALYSIS_QUEUE, CAPTURE_QUEUE, app
from triage_api.config import get_settings

log = logging.getLogger(__name__)
TRANSIENT = (ConnectionError, TimeoutError, OSError)


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
