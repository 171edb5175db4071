"""Stopping a running sweep: an operator (command line, API or the sweep's page) marks it
`stopping`; every process at work on it sees that within `crawler.sweep.halt.POLL_S`, finishes
the requests in flight, puts back what it holds and leaves, and the last one out marks it
`stopped`. A stopped sweep keeps its frontier: `hotline sweep join` carries it on.

A sweep whose processes are all gone (silent for `STALE_S`) is marked `stopped` at once, since no
process is left to see the request."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from triage_api import audit
from triage_api.db import session_scope
from triage_api.models import Sweep, utcnow

STALE_S = 1800  # a running sweep silent this long has lost its processes
AT_WORK = ("running", "stopping")  # statuses with processes (maybe) still working


class SweepNotRunning(ValueError):
    """The sweep has ended or was never started; says its status."""


def stop(sweep_id: int, *, actor: str) -> str:
    """Ask the sweep's processes to stop; the status it has now (`stopping` or `stopped`)."""
    with session_scope() as session:
        sweep = session.get(Sweep, sweep_id, with_for_update=True)
        if sweep is None:
            raise LookupError(f"no sweep {sweep_id}")
        if sweep.status in ("stopping", "stopped"):
            return sweep.status
        if sweep.status != "running":
            raise SweepNotRunning(f"sweep {sweep_id} is {sweep.status}: there is nothing to stop")
        now = utcnow()
        asked = {"stop_asked_by": actor, "stop_asked_at": now.isoformat()}
        sweep.stats = {**sweep.stats, **asked}
        if now - (sweep.heartbeat_at or sweep.started_at) >= timedelta(seconds=STALE_S):
            sweep.status, sweep.finished_at = "stopped", now
        else:
            sweep.status = "stopping"
        audit.record(session, actor=actor, action="sweep.stop", subject=f"sweep:{sweep_id}")
        return sweep.status


def asked_to_stop(sweep_id: int) -> bool:
    """Whether a process at work on the sweep should leave: it is no longer `running`."""
    with session_scope() as session:
        found = session.scalar(sa.select(Sweep.status).where(Sweep.id == sweep_id))
    return found != "running"
