"""The files inside a law-enforcement evidence package, each built by one function.

`triage_api.forwarding.evidence_package` decides what goes in; this module turns records and
stored evidence into bytes, and the bytes into a ZIP that is the same for the same inputs, so a
package can be rebuilt and compared by its sha256.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from crawler.evidence import EvidenceError, EvidenceStore
from triage_api import audit_chain
from triage_api.models import AuditEntry, AuditSeal, Capture, Case, Decision, Media
from triage_api.sqlutil import table_of

# Every entry carries this time: ZIP stores local times, and a build time would change the bytes.
ZIP_TIME = (1980, 1, 1, 0, 0, 0)
UNIX = 3
REGULAR_FILE = 0o100644 << 16
SUMS = "SHA256SUMS"
PACKAGE_FORMAT = "kaznet-hotline-evidence-package"
PACKAGE_VERSION = 1
SOURCE_HOTLINE = "KZ"
# From the latest capture's enrichment; the case's own `jurisdiction` and `country` come first.
HOSTING_FIELDS = (
    "ip",
    "country_name",
    "jurisdiction_reason",
    "hosting_provider",
    "abuse_contact",
    "asn",
    "as_org",
    "registrable_domain",
    "registrar",
)
EXTENSIONS = {
    "image/jpeg": "jpg",
    "image/png": "png",
    "image/gif": "gif",
    "image/webp": "webp",
    "image/bmp": "bmp",
    "image/svg+xml": "svg",
    "image/avif": "avif",
    "image/tiff": "tiff",
    "image/x-icon": "ico",
    "image/vnd.microsoft.icon": "ico",
    "video/mp4": "mp4",
    "video/webm": "webm",
}
# What each capture artefact is called inside `captures/<id>/`.
ARTEFACT_FILES = {
    "manifest": "capture.manifest.json",
    "warc": "capture.warc.gz",
    "screenshot": "screenshot.png",
    "html": "page.html",
    "text": "page.txt",
}
HASH_COLUMNS = ("sha256", "md5", "sha1", "phash", "dhash", "pdq", "pdq_quality")
SEAL_RULE = (
    "seal = sha256(previous seal as hex text + canonical JSON of [id, at, actor, action, subject,"
    " details]) with sorted keys, no spaces, UTF-8; the first seal's previous is 64 zeros"
)


@dataclass
class Contents:
    """The package's files by name, and the evidence that could not be read from the store."""

    files: dict[str, bytes] = field(default_factory=dict)
    missing: list[dict[str, Any]] = field(default_factory=list)

    def add_stored(self, store: EvidenceStore, name: str, sha256: str | None) -> bool:
        """Copy one stored file in; a missing or altered one is listed, never fatal."""
        if not sha256:
            return False
        try:
            self.files[name] = store.get(sha256)
        except EvidenceError as exc:
            self.missing.append({"file": name, "sha256": sha256, "error": str(exc)})
            return False
        return True


def to_json(value: Any) -> bytes:
    """One stable JSON form for every JSON file of the package (sorted keys, UTF-8)."""
    text = json.dumps(value, ensure_ascii=False, sort_keys=True, indent=2, default=str)
    return (text + "\n").encode()


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def capture_files(contents: Contents, store: EvidenceStore, capture: Capture) -> dict[str, Any]:
    """Copy a capture's artefacts under `captures/<id>/`; what was stored, by role.

    The WARC and child frames are named only in the capture's stored manifest, so they can be
    found only when the manifest can be read."""
    base = f"captures/{capture.id}/"
    artefacts: dict[str, str | None] = {
        "manifest": capture.manifest_sha256,
        "screenshot": capture.screenshot_sha256,
        "html": capture.html_sha256,
        "text": capture.text_sha256,
        "warc": None,
    }
    frames: list[dict[str, Any]] = []
    if contents.add_stored(store, base + ARTEFACT_FILES["manifest"], capture.manifest_sha256):
        stored = _read_manifest(contents.files[base + ARTEFACT_FILES["manifest"]])
        artefacts["warc"] = (stored.get("artefacts") or {}).get("warc")
        frames = [f for f in stored.get("frame_artefacts") or [] if isinstance(f, dict)]
    elif capture.manifest_sha256:
        contents.missing.append(
            {
                "file": base + ARTEFACT_FILES["warc"],
                "sha256": None,
                "error": "named only in the capture manifest, which is missing",
            }
        )
    for role in ("warc", "screenshot", "html", "text"):
        contents.add_stored(store, base + ARTEFACT_FILES[role], artefacts[role])
    frame_files = []
    for number, frame in enumerate(frames, start=1):
        name = f"{base}frames/{number:02d}.html"
        if contents.add_stored(store, name, frame.get("sha256")):
            frame_files.append({"file": name, "url": frame.get("url"), "sha256": frame["sha256"]})
    return {"artefacts": artefacts, "frames": frame_files}


def _read_manifest(data: bytes) -> dict[str, Any]:
    try:
        value = json.loads(data)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def media_name(item: Media) -> str:
    """`media/<sha256>.<ext>`: named by content, with an extension a viewer understands."""
    mime = (item.mime or "").split(";")[0].strip().lower()
    return f"media/{item.sha256}.{EXTENSIONS.get(mime, 'bin')}"


def hashes_csv(media: list[Media], verdict: Callable[[str], tuple[str, str | None]]) -> bytes:
    """Every medium's hashes, for matching on the recipient's side, with the verdict in force."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([*HASH_COLUMNS, "verdict", "category", "file"])
    for item in sorted(media, key=lambda m: m.sha256):
        outcome, category = verdict(item.sha256)
        row = [getattr(item, column) for column in HASH_COLUMNS]
        writer.writerow(
            ["" if v is None else v for v in row] + [outcome, category or "", media_name(item)]
        )
    return out.getvalue().encode()


def audit_excerpt(session: Session, subject: str, *, leave_out: str) -> dict[str, Any]:
    """The case's audit entries, each with its seal checked against the seal before it.

    Entries of action `leave_out` (the packages' own exports) are not part of it, so building a
    package again gives the same bytes. A recipient can recompute each seal from the entry."""
    entries = session.execute(
        sa.select(table_of(AuditEntry))
        .where(AuditEntry.subject == subject, AuditEntry.action != leave_out)
        .order_by(AuditEntry.id)
    ).all()
    seals = dict(
        session.execute(
            sa.select(AuditSeal.entry_id, AuditSeal.hash).where(
                AuditSeal.entry_id.in_([e.id for e in entries])
            )
        ).all()
    )
    rows = [_audit_row(session, entry, seals.get(entry.id)) for entry in entries]
    sealed = [row["seal"] for row in rows if row["seal"] is not None]
    return {
        "subject": subject,
        "entries": rows,
        "chain": {
            "rule": SEAL_RULE,
            "sealed": len(sealed),
            "not_sealed_yet": len(rows) - len(sealed),
            "all_sealed_entries_verified": all(s["verified"] for s in sealed),
        },
    }


def _audit_row(session: Session, entry: Any, seal: str | None) -> dict[str, Any]:
    row: dict[str, Any] = {
        "id": entry.id,
        "at": entry.at.isoformat(timespec="microseconds"),
        "actor": entry.actor,
        "action": entry.action,
        "subject": entry.subject,
        "details": entry.details,
        "seal": None,
    }
    if seal is not None:
        previous = session.scalar(
            sa.select(AuditSeal.hash)
            .where(AuditSeal.entry_id < entry.id)
            .order_by(AuditSeal.entry_id.desc())
            .limit(1)
        )
        previous = previous or audit_chain.GENESIS
        verified = audit_chain.link(previous, entry) == seal
        row["seal"] = {"hash": seal, "previous": previous, "verified": verified}
    return row


def sha256sums(files: Mapping[str, bytes]) -> bytes:
    """`sha256sum -c` input: two spaces between the digest and the name, sorted by name."""
    lines = [f"{sha256_of(files[name])}  {name}\n" for name in sorted(files)]
    return "".join(lines).encode()


def stable_zip(files: Mapping[str, bytes]) -> bytes:
    """A ZIP whose bytes depend only on the files: sorted names, one fixed time and mode."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", allowZip64=True) as archive:
        for name in sorted(files):
            info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = UNIX
            info.external_attr = REGULAR_FILE
            archive.writestr(info, files[name], compresslevel=6)
    return out.getvalue()


@dataclass(frozen=True, slots=True)
class Verdicts:
    """Per picture, the outcome and category in force: its own verdict, else the case's."""

    own: dict[str, tuple[str, str | None]]
    case: tuple[str, str | None]

    @classmethod
    def of(cls, standing: Decision) -> Verdicts:
        own = {
            v["sha256"]: (v["outcome"], v.get("category"))
            for v in standing.media or []
            if isinstance(v, dict) and "sha256" in v
        }
        return cls(own, (standing.outcome, standing.category))

    def __call__(self, sha256: str) -> tuple[str, str | None]:
        return self.own.get(sha256, self.case)


def capture_facts(capture: Capture, stored: dict[str, Any]) -> dict[str, Any]:
    """What the browser saw and when, as the capture recorded it, and where its files are."""
    base = f"captures/{capture.id}/"
    return {
        "id": capture.id,
        "kind": capture.kind,
        "requested_url": capture.requested_url,
        "final_url": capture.final_url,
        "redirect_chain": capture.redirect_chain,
        "http_status": capture.http_status,
        "server_ip": capture.server_ip,
        "browser_version": capture.browser_version,
        "title": capture.title,
        "outcome": capture.outcome,
        "error": capture.error,
        "started_at": _iso(capture.started_at),
        "finished_at": _iso(capture.finished_at),
        "enrichment": capture.enrichment,
        "artefacts": stored["artefacts"],
        "frames": stored["frames"],
        "directory": base,
        "media": [{"sha256": link.media_sha256, "url": link.url} for link in capture.media],
    }


def manifest(
    case: Case,
    standing: Decision,
    captures: list[Capture],
    facts: list[dict[str, Any]],
    media: list[Media],
    verdicts: Verdicts,
    contents: Contents,
) -> dict[str, Any]:
    """What the package holds and where it came from, with every other file's sha256."""
    latest = next((c for c in reversed(captures) if c.id == case.last_capture_id), None)
    latest = latest or (captures[-1] if captures else None)
    enrichment = (latest.enrichment if latest else None) or {}
    return {
        "format": PACKAGE_FORMAT,
        "version": PACKAGE_VERSION,
        "source_hotline": SOURCE_HOTLINE,
        "case": {
            "id": case.id,
            "canonical_url": case.canonical_url,
            "host": case.host,
            "source": case.source,
            "report_count": case.report_count,
            "opened_at": _iso(case.created_at),
        },
        "hosting": {
            "jurisdiction": case.jurisdiction,
            "country": case.country,
            "from_capture": latest.id if latest else None,
            **{name: enrichment.get(name) for name in HOSTING_FIELDS},
        },
        "decision": {
            "id": standing.id,
            "outcome": standing.outcome,
            "category": standing.category,
            "legal_basis": standing.legal_basis,
            "decided_at": _iso(standing.created_at),
        },
        "captures": facts,
        "media": [
            {
                "sha256": item.sha256,
                "file": media_name(item) if media_name(item) in contents.files else None,
                "mime": item.mime,
                "size": item.size,
                "width": item.width,
                "height": item.height,
                "verdict": verdicts(item.sha256)[0],
                "category": verdicts(item.sha256)[1],
            }
            for item in media
        ],
        "files": {
            name: {"sha256": sha256_of(data), "bytes": len(data)}
            for name, data in sorted(contents.files.items())
        },
        "missing": contents.missing,
        "checksums": SUMS,
    }


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None
