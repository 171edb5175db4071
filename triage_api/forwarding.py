"""Forwarding confirmed cases: an evidence package for law enforcement, records for a partner
hotline when the content is hosted abroad.

The package is the evidence itself (media included) for a recipient entitled to it; it is served
only as a download to supervisors and never shown in the UI. The partner records carry what
INHOPE-style exchanges use (URL, hosting country, category, hashes, times) and nothing about
reporters or analysts. Every export is audited.

Exceptions::

    ForwardingError (ValueError)
    ├── CaseNotFound     no such case
    └── NotForwardable   the case is not decided the way the export needs
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from crawler.evidence import EvidenceStore
from triage_api import audit
from triage_api.decisions import OUTCOMES, history, standing_decision
from triage_api.models import Capture, CaptureMedia, Case, Decision, Media, Report
from triage_api.package_contents import (
    SOURCE_HOTLINE,
    SUMS,
    Contents,
    Verdicts,
    audit_excerpt,
    capture_facts,
    capture_files,
    hashes_csv,
    manifest,
    media_name,
    sha256_of,
    sha256sums,
    stable_zip,
    to_json,
)
from triage_api.taxonomy import taxonomy

__all__ = [
    "EXPORTED",
    "SOURCE_HOTLINE",
    "CaseNotFound",
    "ForwardingError",
    "NotForwardable",
    "Package",
    "as_utc",
    "evidence_package",
    "parse_since",
    "partner_export",
]

EXPORTED = "case.exported"
HOME_COUNTRY = "KZ"
_PACKAGES_ARE = "evidence packages are made for cases decided illegal only"


class ForwardingError(ValueError):
    """The export cannot be made as asked; the message says why."""


class CaseNotFound(ForwardingError):
    """There is no case with that id."""


class NotForwardable(ForwardingError):
    """The case's decision in force does not allow this export."""


@dataclass(frozen=True, slots=True)
class Package:
    """A built evidence package: the ZIP's bytes, their sha256 and the names inside."""

    data: bytes
    sha256: str
    files: list[str]
    missing: list[dict[str, Any]]


def evidence_package(
    session: Session, case_id: int, store: EvidenceStore, *, actor: str
) -> Package:
    """Build the package of a case decided illegal and audit the export (caller commits).

    Evidence missing from the store is listed in `manifest.json` under `missing`; the package is
    still built, since what is left is still evidence."""
    case = _case(session, case_id)
    standing = _confirmed(session, case_id)
    contents = Contents()
    captures = list(
        session.scalars(sa.select(Capture).where(Capture.case_id == case_id).order_by(Capture.id))
    )
    facts = [capture_facts(c, capture_files(contents, store, c)) for c in captures]
    media = _case_media(session, case_id)
    for item in media:
        contents.add_stored(store, media_name(item), item.sha256)
    verdicts = Verdicts.of(standing)
    contents.files["hashes.csv"] = hashes_csv(media, verdicts)
    contents.files["decision.json"] = to_json(
        {"in_force": standing.id, "history": history(session, case_id)}
    )
    contents.files["audit.json"] = to_json(
        audit_excerpt(session, f"case:{case_id}", leave_out=EXPORTED)
    )
    contents.files["manifest.json"] = to_json(
        manifest(case, standing, captures, facts, media, verdicts, contents)
    )
    contents.files[SUMS] = sha256sums(contents.files)
    data = stable_zip(contents.files)
    package = Package(data, sha256_of(data), sorted(contents.files), contents.missing)
    audit.record(
        session,
        actor=actor,
        action=EXPORTED,
        subject=f"case:{case_id}",
        kind="evidence_package",
        package_sha256=package.sha256,
        files=len(package.files),
        missing=len(package.missing),
    )
    return package


def _case(session: Session, case_id: int) -> Case:
    case = session.get(Case, case_id)
    if case is None:
        raise CaseNotFound(f"there is no case {case_id}")
    return case


def _confirmed(session: Session, case_id: int) -> Decision:
    """Packages are for confirmed cases only: the decision in force must be illegal."""
    standing = standing_decision(session, case_id)
    if standing is None:
        raise NotForwardable(f"case {case_id} is not decided yet; {_PACKAGES_ARE}")
    if standing.outcome != "illegal":
        raise NotForwardable(
            f"case {case_id} is decided '{standing.outcome}', not illegal; {_PACKAGES_ARE}"
        )
    return standing


def _case_media(session: Session, case_id: int) -> list[Media]:
    """Every distinct medium any capture of the case kept, by sha256."""
    captured = (
        sa.select(CaptureMedia.media_sha256)
        .join(Capture, Capture.id == CaptureMedia.capture_id)
        .where(Capture.case_id == case_id)
    )
    return list(
        session.scalars(sa.select(Media).where(Media.sha256.in_(captured)).order_by(Media.sha256))
    )


def partner_export(
    session: Session,
    *,
    actor: str,
    case_ids: Sequence[int] | None = None,
    since: datetime | None = None,
    source_hotline: str = SOURCE_HOTLINE,
) -> list[dict[str, Any]]:
    """Records for a partner hotline: cases decided `forward`, or illegal and hosted abroad.

    Named cases must all qualify (else `ForwardingError`); without names, every qualifying case
    whose decision in force was made at or after `since`. One audit entry per exported case."""
    rows = session.execute(_forwardable(case_ids, since)).all()
    if case_ids is not None:
        _all_found(session, case_ids, {case.id for case, _ in rows})
    records = []
    for case, standing in rows:
        record = _partner_record(session, case, standing, source_hotline)
        records.append(record)
        audit.record(
            session,
            actor=actor,
            action=EXPORTED,
            subject=f"case:{case.id}",
            kind="partner_export",
            record_sha256=hashlib.sha256(
                json.dumps(record, sort_keys=True, ensure_ascii=False).encode()
            ).hexdigest(),
        )
    return records


def hosted_abroad() -> sa.ColumnElement[bool]:
    """Foreign jurisdiction, or a known server country other than Kazakhstan (a .kz name
    served from abroad is Kaznet's by its name, yet the hosting provider is abroad)."""
    return sa.or_(
        Case.jurisdiction == "foreign",
        sa.and_(Case.country.is_not(None), Case.country != HOME_COUNTRY),
    )


def _forwardable(
    case_ids: Sequence[int] | None, since: datetime | None
) -> sa.Select[Case, Decision]:
    in_force = (
        sa.select(sa.func.max(Decision.id))
        .where(Decision.outcome.in_(OUTCOMES))
        .group_by(Decision.case_id)
    )
    query = (
        sa.select(Case, Decision)
        .join(Decision, Decision.case_id == Case.id)
        .where(
            Decision.id.in_(in_force),
            sa.or_(
                Decision.outcome == "forward",
                sa.and_(Decision.outcome == "illegal", hosted_abroad()),
            ),
        )
        .order_by(Case.id)
    )
    if case_ids is not None:
        query = query.where(Case.id.in_(sorted(set(case_ids))))
    if since is not None:
        query = query.where(Decision.created_at >= since)
    return query


def _all_found(session: Session, asked: Sequence[int], found: set[int]) -> None:
    """Every case named must exist and qualify; say which do not and why."""
    unknown = [i for i in sorted(set(asked)) if i not in found and session.get(Case, i) is None]
    if unknown:
        raise CaseNotFound(f"there is no case {', '.join(map(str, unknown))}")
    refused = [i for i in sorted(set(asked)) if i not in found]
    if refused:
        raise NotForwardable(
            f"case {', '.join(map(str, refused))} is not for a partner hotline: only cases"
            " decided 'forward', or decided illegal and hosted abroad, are exported"
        )


def _partner_record(
    session: Session, case: Case, standing: Decision, source_hotline: str
) -> dict[str, Any]:
    """One exchange record. No reporter, contact, comment, note or analyst is ever read here."""
    capture = session.get(Capture, case.last_capture_id) if case.last_capture_id else None
    enrichment = (capture.enrichment if capture else None) or {}
    first_report = session.scalar(
        sa.select(sa.func.min(Report.created_at)).where(Report.case_id == case.id)
    )
    verdicts = Verdicts.of(standing)
    media = [m for m in _case_media(session, case.id) if verdicts(m.sha256)[0] != "not_illegal"]
    return {
        "reference": case.id,
        "source_hotline": source_hotline,
        "url": case.canonical_url,
        "final_url": capture.final_url if capture else None,
        "hosting_country": _country(case.country or enrichment.get("country")),
        "hosting_ip": (capture.server_ip if capture else None) or enrichment.get("ip"),
        "hosting_provider": enrichment.get("hosting_provider") or enrichment.get("as_org"),
        "assessment": standing.outcome,
        "category": standing.category,
        "legal_basis": _legal_basis(standing),
        "assessed_at": _iso(standing.created_at),
        "first_reported_at": _iso(first_report or case.created_at),
        "captured_at": _iso(capture.started_at) if capture else None,
        "content_type": _content_type(capture),
        "report_count": case.report_count,
        "hashes": [
            {
                "sha256": m.sha256,
                "md5": m.md5,
                "sha1": m.sha1,
                "pdq": m.pdq,
                "pdq_quality": m.pdq_quality,
                "phash": m.phash,
                "category": verdicts(m.sha256)[1],
            }
            for m in media
        ],
    }


def _country(value: object) -> str | None:
    """ISO 3166-1 alpha-2, upper case; anything else is not a country code."""
    text = str(value or "").strip().upper()
    return text if len(text) == 2 and text.isascii() and text.isalpha() else None


def _legal_basis(standing: Decision) -> str | None:
    if standing.legal_basis:
        return standing.legal_basis
    category = taxonomy().categories.get(standing.category or "")
    return category.legal_basis if category else None


def _content_type(capture: Capture | None) -> str:
    """`image` or `video` when the reported URL itself answered with a medium, else `webpage`."""
    if capture is None:
        return "webpage"
    addresses = {capture.requested_url, capture.final_url}
    for link in capture.media:
        if link.url in addresses:
            mime = link.media.mime or ""
            if mime.startswith(("image/", "video/")):
                return mime.split("/")[0]
    return "webpage"


def parse_since(text: str) -> datetime:
    """A date (`2026-01-31`, midnight UTC) or an ISO 8601 time; a time without zone is UTC."""
    value = text.strip()
    try:
        if len(value) == 10:
            day = date.fromisoformat(value)
            return datetime(day.year, day.month, day.day, tzinfo=UTC)
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ForwardingError(
            f"'{value[:40]}' is not a date: use YYYY-MM-DD or an ISO 8601 time"
        ) from None
    return as_utc(parsed)


def as_utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None
