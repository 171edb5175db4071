"""The audit log's hash chain: tampering with, removing or slipping in an entry shows.

Entries are written without a hash (`audit.record`), so the many transactions that audit (every
report filed, every case viewed) never wait on one another. `seal` then chains them in id order:
seal i = sha256(seal i-1 + the entry's canonical JSON), stored in `audit_seals` (append-only,
like the log). Only entries older than `HOTLINE_AUDIT_SEAL_AFTER_S` are sealed, so a transaction
that took an id earlier but commits later is still in time (tasks are killed after
`task_hard_limit_s`, well inside it). `verify` recomputes the chain: an entry changed behind the
triggers' back breaks its seal, a deleted one leaves a seal without entry, one inserted below
the sealed range has no seal. The head (last id and hash) is printed to be kept elsewhere: a
chain rewritten from some point on would then no longer reach the head an operator recorded.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from triage_api.config import get_settings
from triage_api.models import AuditEntry, AuditSeal, utcnow
from triage_api.sqlutil import table_of

GENESIS = "0" * 64
BATCH = 5000
_LOCK_KEY = 0x6175646974  # "audit": one sealer at a time on PostgreSQL


def canonical(entry: Any) -> bytes:
    """What a seal covers: every field of the entry, in a fixed JSON form."""
    at = entry.at.isoformat(timespec="microseconds")
    row = [entry.id, at, entry.actor, entry.action, entry.subject, entry.details]
    return json.dumps(row, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def link(previous: str, entry: Any) -> str:
    return hashlib.sha256(previous.encode() + canonical(entry)).hexdigest()


def head(session: Session) -> tuple[int, str]:
    """(id, hash) of the last seal, or (0, GENESIS)."""
    row = session.execute(
        sa.select(AuditSeal.entry_id, AuditSeal.hash).order_by(AuditSeal.entry_id.desc()).limit(1)
    ).first()
    return (int(row[0]), str(row[1])) if row else (0, GENESIS)


def seal(session: Session, *, now: datetime | None = None) -> int:
    """Chain every unsealed entry older than the grace period; how many were sealed. The caller
    commits."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(sa.select(sa.func.pg_advisory_xact_lock(_LOCK_KEY)))
    cutoff = (now or utcnow()) - timedelta(seconds=get_settings().audit_seal_after_s)
    last_id, last_hash = head(session)
    sealed = 0
    while True:
        entries = session.execute(
            sa.select(table_of(AuditEntry))
            .where(AuditEntry.id > last_id, AuditEntry.at < cutoff)
            .order_by(AuditEntry.id)
            .limit(BATCH)
        ).all()
        if not entries:
            return sealed
        rows = []
        for entry in entries:
            last_hash = link(last_hash, entry)
            rows.append({"entry_id": entry.id, "hash": last_hash})
        session.execute(sa.insert(table_of(AuditSeal)), rows)
        sealed += len(rows)
        last_id = entries[-1].id


@dataclass
class Verdict:
    checked: int = 0
    head_id: int = 0
    head_hash: str = GENESIS
    unsealed: int = 0  # newer than the sealed range: not sealed yet
    problems: list[str] = field(default_factory=list)


def verify(session: Session, *, limit_problems: int = 50) -> Verdict:
    """Recompute the whole chain against the seals and the log."""
    verdict = Verdict()
    previous = GENESIS
    entries = session.execute(sa.select(table_of(AuditEntry)).order_by(AuditEntry.id)).yield_per(
        BATCH
    )
    seals = iter(
        session.execute(
            sa.select(AuditSeal.entry_id, AuditSeal.hash).order_by(AuditSeal.entry_id)
        ).yield_per(BATCH)
    )
    pending = next(seals, None)

    def problem(text: str) -> None:
        if len(verdict.problems) < limit_problems:
            verdict.problems.append(text)

    for entry in entries:
        while pending is not None and pending[0] < entry.id:
            problem(f"entry {pending[0]} was sealed but is gone from the log")
            pending = next(seals, None)
        if pending is None:
            verdict.unsealed += 1
            continue
        if pending[0] > entry.id:
            problem(f"entry {entry.id} is not in the chain: it was added after sealing")
            continue
        previous = link(previous, entry)
        verdict.checked += 1
        if previous != pending[1]:
            problem(f"entry {entry.id} differs from what was sealed (or an earlier one does)")
            previous = pending[1]  # report each break once, then go on from the seal
        verdict.head_id, verdict.head_hash = entry.id, pending[1]
        pending = next(seals, None)
    while pending is not None:
        problem(f"entry {pending[0]} was sealed but is gone from the log")
        pending = next(seals, None)
    return verdict
