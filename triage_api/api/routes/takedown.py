"""Takedown endpoints: a case's takedown (notices, replies, rechecks), editing and sending a
notice, drafting one to another party, and recording a provider's reply. Analysts and up."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

import sqlalchemy as sa
from fastapi import APIRouter, BackgroundTasks, HTTPException, status
from pydantic import BaseModel, Field

from triage_api import notices
from triage_api.api.deps import CurrentAnalyst, SessionDep
from triage_api.models import Takedown
from triage_api.takedown_view import takedown_detail
from triage_api.tasks import send_later

router = APIRouter(tags=["takedown"])


class NoticeEdit(BaseModel):
    recipient: str | None = Field(default=None, max_length=320)
    subject: str | None = Field(default=None, max_length=notices.MAX_SUBJECT)
    body: str | None = Field(default=None, max_length=notices.MAX_BODY)


class NoticeDraft(BaseModel):
    party: Literal["hosting", "registrar", "upstream", "police"] = "hosting"
    language: Literal["ru", "kk", "en"] | None = None


class ReplyRecord(BaseModel):
    text: str = Field(min_length=1, max_length=notices.MAX_BODY)
    sender: str | None = Field(default=None, max_length=320)
    received_at: datetime | None = None


@router.get("/cases/{case_id}/takedown")
def takedown(case_id: int, session: SessionDep, user: CurrentAnalyst) -> dict[str, Any]:
    found = takedown_detail(session, case_id)
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"case {case_id} has no takedown")
    return found


@router.post("/cases/{case_id}/notices", status_code=status.HTTP_201_CREATED)
def draft_notice(
    case_id: int, body: NoticeDraft, session: SessionDep, user: CurrentAnalyst
) -> dict[str, Any]:
    """A new draft to a party of the analyst's choice (the registrar, say, before any deadline)."""
    open_one = session.scalar(
        sa.select(Takedown).where(Takedown.case_id == case_id, Takedown.state == "open")
    )
    if open_one is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"case {case_id} has no open takedown")
    notice = notices.draft(
        session, open_one, party=body.party, created_by=user.id, language=body.language
    )
    return {"notice": notice.id, "recipient": notice.recipient, "subject": notice.subject}


@router.post("/notices/{notice_id}")
def edit_notice(
    notice_id: int, body: NoticeEdit, session: SessionDep, user: CurrentAnalyst
) -> dict[str, Any]:
    try:
        notice = notices.edit(session, notice_id, actor=f"user:{user.name}", **body.model_dump())
    except notices.NoticeError as exc:
        raise _not_found_or(exc) from None
    return {"notice": notice.id, "status": notice.status}


@router.post("/notices/{notice_id}/send")
def send_notice(
    notice_id: int, session: SessionDep, user: CurrentAnalyst, after_commit: BackgroundTasks
) -> dict[str, Any]:
    """Queue the draft; the sender runs once the queueing is committed."""
    try:
        notice = notices.queue(session, notice_id, actor=f"user:{user.name}")
    except notices.NoticeError as exc:
        raise _not_found_or(exc) from None
    after_commit.add_task(send_later, notice_id)
    return {"notice": notice.id, "status": notice.status, "message_id": notice.message_id}


@router.post("/notices/{notice_id}/replies", status_code=status.HTTP_201_CREATED)
def record_reply(
    notice_id: int, body: ReplyRecord, session: SessionDep, user: CurrentAnalyst
) -> dict[str, Any]:
    try:
        reply = notices.record_reply(
            session,
            notice_id,
            text=body.text,
            sender=body.sender,
            received_at=body.received_at,
            user_id=user.id,
            actor=f"user:{user.name}",
        )
    except notices.NoticeError as exc:
        raise _not_found_or(exc) from None
    return {"reply": reply.id, "notice": notice_id}


def _not_found_or(exc: notices.NoticeError) -> HTTPException:
    if isinstance(exc, notices.NoticeMissing):
        return HTTPException(status.HTTP_404_NOT_FOUND, str(exc))
    if isinstance(exc, notices.NoticeInvalid):
        return HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc))
    return HTTPException(status.HTTP_409_CONFLICT, str(exc))
