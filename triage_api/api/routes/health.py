"""Liveness and Prometheus metrics."""

from __future__ import annotations

import sqlalchemy as sa
from fastapi import APIRouter, Response

from triage_api.api.deps import SessionDep
from triage_api.models import Case, Report
from triage_api.queue import pipeline_counts

router = APIRouter(tags=["operations"])


@router.get("/healthz")
def healthz(session: SessionDep) -> dict[str, str]:
    session.execute(sa.text("SELECT 1"))
    return {"status": "ok"}


@router.get("/metrics")
def metrics(session: SessionDep) -> Response:
    lines = [
        "# HELP hotline_open_cases Open cases by pipeline stage.",
        "# TYPE hotline_open_cases gauge",
    ]
    for stage, count in sorted(pipeline_counts(session).items()):
        lines.append(f'hotline_open_cases{{stage="{stage}"}} {count}')
    lines += [
        "# HELP hotline_reports_total Reports filed.",
        "# TYPE hotline_reports_total counter",
        f"hotline_reports_total {session.scalar(sa.select(sa.func.count(Report.id))) or 0}",
        "# HELP hotline_cases_total Cases opened.",
        "# TYPE hotline_cases_total counter",
        f"hotline_cases_total {session.scalar(sa.select(sa.func.count(Case.id))) or 0}",
    ]
    return Response("\n".join(lines) + "\n", media_type="text/plain; version=0.0.4")
