"""Public intake: file a report, look up its status by tracking code."""

from __future__ import annotations

from datetime import datetime

from anyio import CapacityLimiter, to_thread
from fastapi import APIRouter, HTTPException, Request, status
from pydantic import BaseModel, Field

from triage_api.api.deps import SessionDep, client_address
from triage_api.config import get_settings
from triage_api.db import retry_on_disconnect, session_scope
from triage_api.intake import FiledReport, ReportRejected, file_report, public_status
from triage_api.ratelimit import RateLimiter, limiter_for
from triage_api.tasks import enqueue

router = APIRouter(prefix="/reports", tags=["reports"])


class ReportCreate(BaseModel):
    url: str = Field(max_length=20_000, description="The reported address (http or https).")
    category: str | None = Field(default=None, max_length=40)
    comment: str | None = Field(default=None, max_length=20_000)
    contact: str | None = Field(default=None, max_length=1_000)


class ReportReceipt(BaseModel):
    tracking_code: str
    status: str


class ReportPublic(BaseModel):
    tracking_code: str
    status: str
    received_at: datetime
    outcome: str | None = None
    decided_at: datetime | None = None
    notice_sent_at: datetime | None = None
    removed_at: datetime | None = None


_limiter: RateLimiter | None = None
_slots: CapacityLimiter | None = None


def intake_slots() -> CapacityLimiter:
    global _slots
    if _slots is None:
        _slots = CapacityLimiter(get_settings().db_pool_size)
    return _slots


def rate_limiter() -> RateLimiter:
    global _limiter
    if _limiter is None:
        settings = get_settings()
        _limiter = limiter_for(
            settings.rate_limit_url, settings.report_rate_limit, settings.report_rate_window_s
        )
    return _limiter


@router.post("", status_code=status.HTTP_201_CREATED, response_model=ReportReceipt)
async def create_report(body: ReportCreate, request: Request) -> ReportReceipt:
    # One hop to a worker thread for all the blocking work (each sync dependency adds a hop), and
    # no more at once than the pool has connections: beyond that they would only queue for one.
    client = client_address(request)
    return await to_thread.run_sync(accept_report, body, client, limiter=intake_slots())


def accept_report(body: ReportCreate, client: str) -> ReportReceipt:
    """Rate-limit, file and commit the report, then queue its first job (only after commit)."""
    if not rate_limiter().allow(client):
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            "too many reports from this address; please wait a minute and try again",
            headers={"Retry-After": str(get_settings().report_rate_window_s)},
        )

    def file_and_commit() -> FiledReport:
        with session_scope() as session:
            return file_report(
                session,
                url=body.url,
                category=body.category,
                comment=body.comment,
                contact=body.contact,
                client=client,
                channel="api",
            )

    try:
        filed = retry_on_disconnect(file_and_commit)
    except ReportRejected as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
    if filed.next_stage:
        enqueue(filed.next_stage, filed.case_id)
    return ReportReceipt(tracking_code=filed.tracking_code, status="received")


@router.get("/{tracking_code}", response_model=ReportPublic)
def report_status(tracking_code: str, session: SessionDep) -> ReportPublic:
    found = public_status(session, tracking_code)
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no report has this tracking code")
    return ReportPublic.model_validate(found)
