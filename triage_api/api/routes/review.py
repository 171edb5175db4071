"""Review endpoints: claim the next case, keep or give back its lease, decide it, reassign it,
and a supervisor's revision of a decision (with its reason; the history stays)."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, BackgroundTasks, HTTPException, status
from pydantic import BaseModel, Field

from triage_api import claims, decisions
from triage_api.api.deps import CurrentAnalyst, CurrentSupervisor, SessionDep
from triage_api.decisions import CaseClosed, DecisionError, NothingToRevise
from triage_api.models import Case, User
from triage_api.security import has_role
from triage_api.tasks import enqueue

router = APIRouter(tags=["review"])


class ClaimRequest(BaseModel):
    category: str | None = Field(default=None, max_length=40)
    band: str | None = Field(default=None, max_length=20)
    jurisdiction: str | None = Field(default=None, max_length=20)
    source: str | None = Field(default=None, max_length=20)


class MediaVerdictRequest(BaseModel):
    """One picture's own verdict inside an illegal decision."""

    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    outcome: Literal["illegal", "not_illegal"]
    category: str | None = Field(default=None, max_length=40)
    legal_basis: str | None = Field(default=None, max_length=2000)


class DecisionRequest(BaseModel):
    outcome: Literal["illegal", "not_illegal", "duplicate", "forward", "second_opinion"]
    category: str | None = Field(default=None, max_length=40)
    legal_basis: str | None = Field(default=None, max_length=2000)
    duplicate_of: int | None = Field(default=None, ge=1)
    note: str | None = Field(default=None, max_length=4000)
    media: list[MediaVerdictRequest] = Field(default_factory=list, max_length=500)

    def verdicts(self) -> list[decisions.MediaVerdict]:
        return [decisions.MediaVerdict(**m.model_dump()) for m in self.media]

    def fields(self) -> dict[str, Any]:
        return {**self.model_dump(exclude={"media"}), "media": self.verdicts()}


class RevisionRequest(DecisionRequest):
    outcome: Literal["illegal", "not_illegal", "duplicate", "forward"]
    reason: str = Field(min_length=1, max_length=decisions.MAX_REASON)


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
            **body.fields(),
        )
    except CaseClosed as exc:
        raise _conflict(exc) from None
    except DecisionError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
    return {"decision": decision.id, "case_id": case_id, "outcome": decision.outcome}


@router.post("/cases/{case_id}/revision")
def revise(
    case_id: int,
    body: RevisionRequest,
    session: SessionDep,
    supervisor: CurrentSupervisor,
    after_commit: BackgroundTasks,
) -> dict[str, Any]:
    """A supervisor replaces the decision in force; earlier decisions stay in the history.
    Open cases that matched hashes the revision took back are scored again."""
    if session.get(Case, case_id) is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"case {case_id} does not exist")
    try:
        revision = decisions.revise_decision(
            session,
            case_id=case_id,
            user_id=supervisor.id,
            actor=f"user:{supervisor.name}",
            **body.fields(),
        )
    except NothingToRevise as exc:
        raise _conflict(exc) from None
    except DecisionError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
    for other in revision.rescore:
        after_commit.add_task(enqueue, "score", other)
    return {
        "decision": revision.decision.id,
        "case_id": case_id,
        "outcome": revision.decision.outcome,
        "revises": revision.decision.revises_id,
        "rescoring": revision.rescore,
    }


@router.get("/cases/{case_id}/decisions")
def decision_history(case_id: int, session: SessionDep, user: CurrentAnalyst) -> dict[str, Any]:
    """Every decision, second opinion and revision of the case, oldest first."""
    if session.get(Case, case_id) is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"case {case_id} does not exist")
    return {"case_id": case_id, "decisions": decisions.history(session, case_id)}
