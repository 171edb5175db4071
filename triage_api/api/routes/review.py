"""Review endpoints: claim the next case, keep or give back its lease, decide it, reassign it."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, HTTPException, status
from pydantic import BaseModel, Field

from triage_api import claims, decisions
from triage_api.api.deps import CurrentAnalyst, CurrentSupervisor, SessionDep
from triage_api.decisions import CaseClosed, DecisionError
from triage_api.models import User
from triage_api.security import has_role

router = APIRouter(tags=["review"])


class ClaimRequest(BaseModel):
    category: str | None = Field(default=None, max_length=40)
    band: str | None = Field(default=None, max_length=20)
    jurisdiction: str | None = Field(default=None, max_length=20)
    source: str | None = Field(default=None, max_length=20)


class DecisionRequest(BaseModel):
    outcome: Literal["illegal", "not_illegal", "duplicate", "forward", "second_opinion"]
    category: str | None = Field(default=None, max_length=40)
    legal_basis: str | None = Field(default=None, max_length=2000)
    duplicate_of: int | None = Field(default=None, ge=1)
    note: str | None = Field(default=None, max_length=4000)


class ReassignRequest(BaseModel):
    user_id: int = Field(ge=1)


def _conflict(exc: ValueError) -> HTTPException:
    return HTTPException(status.HTTP_409_CONFLICT, str(exc))


@router.post("/queue/claim")
def claim(
    session: SessionDep, user: CurrentAnalyst, body: ClaimRequest | None = None
) -> dict[str, Any]:
    """The analyst's current case, else the best free one; `claim` is null when none waits."""
    wanted = claims.QueueFilter(**(body or ClaimRequest()).model_dump())
    try:
        found = claims.claim_next(session, user, wanted)
    except claims.ClaimError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
    return {"claim": found.as_dict() if found else None}


@router.post("/cases/{case_id}/renew")
def renew(case_id: int, session: SessionDep, user: CurrentAnalyst) -> dict[str, Any]:
    try:
        return {"claim": claims.renew(session, case_id, user).as_dict()}
    except claims.ClaimError as exc:
        raise _conflict(exc) from None


@router.post("/cases/{case_id}/release")
def release(case_id: int, session: SessionDep, user: CurrentAnalyst) -> dict[str, Any]:
    try:
        claims.release(session, case_id, user)
    except claims.ClaimError as exc:
        raise _conflict(exc) from None
    return {"released": case_id}


@router.post("/cases/{case_id}/reassign")
def reassign(
    case_id: int, body: ReassignRequest, session: SessionDep, supervisor: CurrentSupervisor
) -> dict[str, Any]:
    to = session.get(User, body.user_id)
    if to is None or not has_role(to, "analyst"):
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"no staff user {body.user_id}")
    try:
        return {"claim": claims.reassign(session, case_id, to, supervisor).as_dict()}
    except claims.ClaimError as exc:
        raise _conflict(exc) from None


@router.post("/cases/{case_id}/decision")
def decide(
    case_id: int, body: DecisionRequest, session: SessionDep, user: CurrentAnalyst
) -> dict[str, Any]:
    """Only the analyst holding the case's lease decides it (a supervisor may always)."""
    try:
        allowed = claims.may_decide(session, case_id, user)
    except claims.ClaimError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from None
    if not allowed:
        raise HTTPException(status.HTTP_409_CONFLICT, f"claim case {case_id} before deciding it")
    try:
        decision = decisions.decide(
            session,
            case_id=case_id,
            user_id=user.id,
            actor=f"user:{user.name}",
            **body.model_dump(),
        )
    except CaseClosed as exc:
        raise _conflict(exc) from None
    except DecisionError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
    return {"decision": decision.id, "case_id": case_id, "outcome": decision.outcome}
