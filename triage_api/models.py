"""The hotline's records: reports, cases, captures, media, hash lists, decisions, users, audit."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utcnow() -> datetime:
    return datetime.now(UTC)


class UtcDateTime(sa.types.TypeDecorator[datetime]):
    """Timezone-aware UTC on both engines (SQLite drops the zone, so we put it back)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use UTC-aware datetimes")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UtcDateTime,
        dict[str, Any]: sa.JSON,
        list[Any]: sa.JSON,
    }


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(120), unique=True)
    role: Mapped[str] = mapped_column(sa.String(20))
    password_hash: Mapped[str | None] = mapped_column(sa.String(255))
    disabled: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ApiToken(Base):
    """Only the sha256 of a token is kept; the token itself is shown once."""

    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    # Browser sign-ins get a token of their own that expires; API tokens have none.
    expires_at: Mapped[datetime | None]
    user: Mapped[User] = relationship()


class Case(Base):
    """All reports of one canonical URL while it is open; the unit analysts decide on.

    `open_key` holds the canonical URL while the case is open and NULL afterwards, so a unique
    index lets at most one open case per URL exist on both engines.
    """

    __tablename__ = "cases"
    id: Mapped[int] = mapped_column(primary_key=True)
    canonical_url: Mapped[str] = mapped_column(sa.Text, index=True)
    host: Mapped[str] = mapped_column(sa.String(255), index=True)
    open_key: Mapped[str | None] = mapped_column(sa.Text, unique=True)
    source: Mapped[str] = mapped_column(sa.String(20), default="public")
    status: Mapped[str] = mapped_column(sa.String(20), default="open", index=True)
    stage: Mapped[str] = mapped_column(sa.String(20), default="capture", index=True)
    stage_since: Mapped[datetime] = mapped_column(default=utcnow)
    stage_attempts: Mapped[int] = mapped_column(default=0)
    report_count: Mapped[int] = mapped_column(default=0)
    claimed_category: Mapped[str | None] = mapped_column(sa.String(40))
    band: Mapped[int] = mapped_column(default=0)
    base_points: Mapped[float] = mapped_column(default=0.0)
    rank_key: Mapped[float] = mapped_column(default=0.0)
    reasons: Mapped[list[Any]] = mapped_column(default=list)
    last_capture_id: Mapped[int | None]
    # From the latest capture's enrichment: kaznet, foreign or unknown, and the server's country.
    jurisdiction: Mapped[str | None] = mapped_column(sa.String(20), index=True)
    country: Mapped[str | None] = mapped_column(sa.String(2))
    # Mirrors of one page share a family: the id of the family's first case (page_families.py).
    family_id: Mapped[int | None] = mapped_column(index=True)
    # The analyst reviewing the case and until when (`triage_api/claims.py`); an expired lease
    # puts the case back in the queue.
    claimed_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"), index=True)
    lease_until: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    reports: Mapped[list[Report]] = relationship(back_populates="case", order_by="Report.id")

    __table_args__ = (sa.Index("ix_cases_queue", "status", "stage", "band", "rank_key"),)


class Report(Base):
    __tablename__ = "reports"
    id: Mapped[int] = mapped_column(primary_key=True)
    tracking_code: Mapped[str] = mapped_column(sa.String(40), unique=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id"), index=True)
    submitted_url: Mapped[str] = mapped_column(sa.Text)
    canonical_url: Mapped[str] = mapped_column(sa.Text)
    category: Mapped[str | None] = mapped_column(sa.String(40))
    comment: Mapped[str | None] = mapped_column(sa.Text)
    contact: Mapped[str | None] = mapped_column(sa.String(320))
    channel: Mapped[str] = mapped_column(sa.String(20), default="api")
    client_hash: Mapped[str | None] = mapped_column(sa.String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    case: Mapped[Case] = relationship(back_populates="reports")


class Capture(Base):
    """One visit of the browser to a case's URL; artefacts live in the evidence store by sha256."""

    __tablename__ = "captures"
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(20), default="initial")
    requested_url: Mapped[str] = mapped_column(sa.Text)
    final_url: Mapped[str | None] = mapped_column(sa.Text)
    http_status: Mapped[int | None]
    title: Mapped[str | None] = mapped_column(sa.Text)
    redirect_chain: Mapped[list[Any]] = mapped_column(default=list)
    server_ip: Mapped[str | None] = mapped_column(sa.String(64))
    screenshot_sha256: Mapped[str | None] = mapped_column(sa.String(64))
    html_sha256: Mapped[str | None] = mapped_column(sa.String(64))
    text_sha256: Mapped[str | None] = mapped_column(sa.String(64))
    manifest_sha256: Mapped[str | None] = mapped_column(sa.String(64))
    browser_version: Mapped[str | None] = mapped_column(sa.String(80))
    error: Mapped[str | None] = mapped_column(sa.Text)
    outcome: Mapped[str] = mapped_column(sa.String(30), default="ok")
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    # The site's technical characteristics at capture time (domain, DNS, AS, hosting, registrar).
    enrichment: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    # 64-bit SimHashes (hex) of the visible text and of the DOM shape, for finding mirrors.
    text_print: Mapped[str | None] = mapped_column(sa.String(16))
    dom_print: Mapped[str | None] = mapped_column(sa.String(16))
    media: Mapped[list[CaptureMedia]] = relationship(order_by="CaptureMedia.id")


class Media(Base):
    """One distinct file, content-addressed: seen in any number of captures."""

    __tablename__ = "media"
    sha256: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    md5: Mapped[str] = mapped_column(sa.String(32), index=True)
    sha1: Mapped[str] = mapped_column(sa.String(40))
    phash: Mapped[str | None] = mapped_column(sa.String(16), index=True)
    dhash: Mapped[str | None] = mapped_column(sa.String(16))
    pdq: Mapped[str | None] = mapped_column(sa.String(64))
    pdq_quality: Mapped[int | None]
    mime: Mapped[str | None] = mapped_column(sa.String(100))
    size: Mapped[int]
    width: Mapped[int | None]
    height: Mapped[int | None]
    hash_error: Mapped[str | None] = mapped_column(sa.Text)
    frames: Mapped[int | None]
    # Further hashes to look up: other frames, PDQ rotations/mirrors [{hash_type, value, label}].
    extra_hashes: Mapped[list[dict[str, Any]] | None] = mapped_column(sa.JSON)
    first_seen_at: Mapped[datetime] = mapped_column(default=utcnow)


class CaptureMedia(Base):
    __tablename__ = "capture_media"
    id: Mapped[int] = mapped_column(primary_key=True)
    capture_id: Mapped[int] = mapped_column(sa.ForeignKey("captures.id"), index=True)
    media_sha256: Mapped[str] = mapped_column(sa.ForeignKey("media.sha256"), index=True)
    url: Mapped[str] = mapped_column(sa.Text)
    media: Mapped[Media] = relationship()

    __table_args__ = (sa.UniqueConstraint("capture_id", "media_sha256"),)


class PagePrintBand(Base):
    """One 16-bit quarter of a capture's page print, indexed so near prints are found by lookup."""

    __tablename__ = "page_print_bands"
    id: Mapped[int] = mapped_column(primary_key=True)
    capture_id: Mapped[int] = mapped_column(sa.ForeignKey("captures.id"))
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id"))
    kind: Mapped[str] = mapped_column(sa.String(10))  # "text" or "dom"
    band: Mapped[int]
    value: Mapped[int]

    __table_args__ = (
        sa.UniqueConstraint("capture_id", "kind", "band"),
        sa.Index("ix_page_print_bands_lookup", "kind", "band", "value"),
    )


class HashList(Base):
    __tablename__ = "hash_lists"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(120), unique=True)
    source: Mapped[str] = mapped_column(sa.String(200), default="")
    category: Mapped[str] = mapped_column(sa.String(40))
    trust: Mapped[str] = mapped_column(sa.String(20), default="trusted")
    # "known": known material, a match raises the case; "allow": confirmed not illegal, suppresses.
    kind: Mapped[str] = mapped_column(sa.String(20), default="known", server_default="known")
    note: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class KnownHash(Base):
    __tablename__ = "known_hashes"
    id: Mapped[int] = mapped_column(primary_key=True)
    list_id: Mapped[int] = mapped_column(sa.ForeignKey("hash_lists.id"), index=True)
    hash_type: Mapped[str] = mapped_column(sa.String(20))
    value: Mapped[str] = mapped_column(sa.String(128))
    category: Mapped[str | None] = mapped_column(sa.String(40))
    note: Mapped[str | None] = mapped_column(sa.Text)
    quality: Mapped[int | None]  # PDQ quality as the list gave it
    # The hotline's own media this hash came from, when an analyst's decision added it.
    media_sha256: Mapped[str | None] = mapped_column(sa.String(64), index=True)
    added_at: Mapped[datetime] = mapped_column(default=utcnow)
    # A revised decision takes its hashes back; the row stays for the matches that cite it.
    withdrawn_at: Mapped[datetime | None]
    hash_list: Mapped[HashList] = relationship()

    __table_args__ = (
        sa.UniqueConstraint("list_id", "hash_type", "value"),
        sa.Index("ix_known_hashes_lookup", "hash_type", "value"),
    )


class Match(Base):
    __tablename__ = "matches"
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id"), index=True)
    capture_id: Mapped[int] = mapped_column(sa.ForeignKey("captures.id"))
    media_sha256: Mapped[str] = mapped_column(sa.ForeignKey("media.sha256"))
    known_hash_id: Mapped[int] = mapped_column(sa.ForeignKey("known_hashes.id"))
    hash_type: Mapped[str] = mapped_column(sa.String(20))
    distance: Mapped[int] = mapped_column(default=0)
    via: Mapped[str | None] = mapped_column(sa.String(40))  # "frame 3", "flip-h": not the original
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    known_hash: Mapped[KnownHash] = relationship()

    __table_args__ = (sa.UniqueConstraint("case_id", "media_sha256", "known_hash_id"),)


class Classification(Base):
    __tablename__ = "classifications"
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id"), index=True)
    capture_id: Mapped[int] = mapped_column(sa.ForeignKey("captures.id"))
    model: Mapped[str] = mapped_column(sa.String(80))
    version: Mapped[str] = mapped_column(sa.String(40))
    label: Mapped[str] = mapped_column(sa.String(40))
    scores: Mapped[dict[str, Any]] = mapped_column(default=dict)
    explanation: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (sa.UniqueConstraint("capture_id", "model"),)


class Decision(Base):
    __tablename__ = "decisions"
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id"), index=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    outcome: Mapped[str] = mapped_column(sa.String(30))
    category: Mapped[str | None] = mapped_column(sa.String(40))
    legal_basis: Mapped[str | None] = mapped_column(sa.Text)
    duplicate_of: Mapped[int | None] = mapped_column(sa.ForeignKey("cases.id"))
    note: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Verdicts per picture where a page holds several: [{sha256, outcome, category, legal_basis}].
    media: Mapped[list[Any]] = mapped_column(default=list)
    # A supervisor's revision points at the decision it replaces and says why; rows never change.
    revises_id: Mapped[int | None] = mapped_column(sa.ForeignKey("decisions.id"))
    reason: Mapped[str | None] = mapped_column(sa.Text)


class AuditEntry(Base):
    """Append-only: database triggers refuse UPDATE and DELETE on both engines."""

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(sa.String(120))
    action: Mapped[str] = mapped_column(sa.String(60))
    subject: Mapped[str | None] = mapped_column(sa.String(120))
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)


class AuditSeal(Base):
    """The hash chain over the audit log (`triage_api/audit_chain.py`); append-only as well.
    No foreign key: a seal must outlive an entry removed behind the triggers' back, to show it."""

    __tablename__ = "audit_seals"
    entry_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    hash: Mapped[str] = mapped_column(sa.String(64))
    sealed_at: Mapped[datetime] = mapped_column(default=utcnow)


class Reveal(Base):
    """An analyst chose to see one picture unblurred (`triage_api/wellbeing.py`)."""

    __tablename__ = "reveals"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    sha256: Mapped[str] = mapped_column(sa.String(64))
    case_id: Mapped[int | None] = mapped_column(sa.ForeignKey("cases.id"))
    at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (sa.Index("ix_reveals_user_at", "user_id", "at"),)


class Takedown(Base):
    """A confirmed case followed until its content is gone: notices, rechecks, escalation.

    `next_check_at` is when the next recheck is due; the scheduler takes due rows with a lease
    (`check_lease_until`) so a recheck in flight is neither run twice nor lost with its worker.
    """

    __tablename__ = "takedowns"
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id"), unique=True)
    state: Mapped[str] = mapped_column(sa.String(20), default="open", index=True)
    category: Mapped[str | None] = mapped_column(sa.String(40))
    jurisdiction: Mapped[str | None] = mapped_column(sa.String(20))
    country: Mapped[str | None] = mapped_column(sa.String(2))
    provider: Mapped[str | None] = mapped_column(sa.String(200))
    confirmed_at: Mapped[datetime] = mapped_column(default=utcnow)
    first_notice_at: Mapped[datetime | None]
    last_notice_at: Mapped[datetime | None]
    removed_at: Mapped[datetime | None]
    # 0: the hosting provider; then registrar, upstream network, law enforcement.
    escalation_level: Mapped[int] = mapped_column(default=0)
    needs_supervisor: Mapped[bool] = mapped_column(default=False)
    next_check_at: Mapped[datetime | None] = mapped_column(index=True)
    check_lease_until: Mapped[datetime | None]
    # Rechecks run `recheck_after_h[step]` after the first notice (or the confirmation), then
    # every `recheck_every_h`.
    schedule_step: Mapped[int] = mapped_column(default=0)
    checks: Mapped[int] = mapped_column(default=0)
    unreachable: Mapped[int] = mapped_column(default=0)  # failed checks in a row
    last_outcome: Mapped[str | None] = mapped_column(sa.String(20))
    last_checked_at: Mapped[datetime | None]


class Notice(Base):
    """A notice to one party about one case; drafted, edited by an analyst, sent over SMTP."""

    __tablename__ = "notices"
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id"), index=True)
    takedown_id: Mapped[int] = mapped_column(sa.ForeignKey("takedowns.id"), index=True)
    party: Mapped[str] = mapped_column(sa.String(20))  # hosting, owner, registrar, upstream, police
    reason: Mapped[str] = mapped_column(sa.String(20), default="first")  # first, resend, escalation
    recipient: Mapped[str | None] = mapped_column(sa.String(320))
    language: Mapped[str] = mapped_column(sa.String(2), default="ru")
    subject: Mapped[str] = mapped_column(sa.String(300))
    body: Mapped[str] = mapped_column(sa.Text)
    status: Mapped[str] = mapped_column(sa.String(20), default="draft", index=True)
    message_id: Mapped[str | None] = mapped_column(sa.String(300), unique=True)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    created_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    queued_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]


class NoticeReply(Base):
    """What a provider answered, recorded on the case by an analyst."""

    __tablename__ = "notice_replies"
    id: Mapped[int] = mapped_column(primary_key=True)
    notice_id: Mapped[int] = mapped_column(sa.ForeignKey("notices.id"), index=True)
    received_at: Mapped[datetime]
    sender: Mapped[str | None] = mapped_column(sa.String(320))
    text: Mapped[str] = mapped_column(sa.Text)
    recorded_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Recheck(Base):
    """One recheck of a takedown: when it was due, what it found, and its evidence (a capture of
    kind `recheck-light` or `recheck-full`). Unique per due time, so a rerun adds nothing."""

    __tablename__ = "rechecks"
    id: Mapped[int] = mapped_column(primary_key=True)
    takedown_id: Mapped[int] = mapped_column(sa.ForeignKey("takedowns.id"), index=True)
    due_at: Mapped[datetime]
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime]
    mode: Mapped[str] = mapped_column(sa.String(10))  # light, full
    outcome: Mapped[str] = mapped_column(sa.String(20))
    http_status: Mapped[int | None]
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
    capture_id: Mapped[int | None] = mapped_column(sa.ForeignKey("captures.id"))

    __table_args__ = (sa.UniqueConstraint("takedown_id", "due_at"),)


class ReporterUpdate(Base):
    """An e-mail to a reporter who left an address: their report's content was notified to the
    provider, or is gone. One per report and event; sent like a notice (`reporter_updates.py`)."""

    __tablename__ = "reporter_updates"
    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(sa.ForeignKey("reports.id"), index=True)
    event: Mapped[str] = mapped_column(sa.String(20))  # notice_sent, removed
    status: Mapped[str] = mapped_column(sa.String(20), default="queued", index=True)
    message_id: Mapped[str] = mapped_column(sa.String(300), unique=True)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    event_at: Mapped[datetime]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]

    __table_args__ = (sa.UniqueConstraint("report_id", "event"),)


class Sweep(Base):
    """One proactive sweep: its seeds (with why each was chosen), options and progress."""

    __tablename__ = "sweeps"
    id: Mapped[int] = mapped_column(primary_key=True)
    status: Mapped[str] = mapped_column(sa.String(20), default="running", index=True)
    seeds: Mapped[list[Any]] = mapped_column(default=list)
    options: Mapped[dict[str, Any]] = mapped_column(default=dict)
    pages: Mapped[int] = mapped_column(default=0)
    pictures: Mapped[int] = mapped_column(default=0)
    hosts: Mapped[int] = mapped_column(default=0)
    new_cases: Mapped[int] = mapped_column(default=0)
    matches: Mapped[int] = mapped_column(default=0)
    errors: Mapped[int] = mapped_column(default=0)
    stats: Mapped[dict[str, Any]] = mapped_column(default=dict)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    # Several processes, on several machines, may work one sweep through its Redis frontier.
    frontier: Mapped[str | None] = mapped_column(sa.String(200))
    heartbeat_at: Mapped[datetime | None]  # the last progress any of its processes wrote
    trigger: Mapped[str] = mapped_column(sa.String(20), default="manual")  # manual | schedule


class SweepFind(Base):
    """A case a sweep opened, and why: the sweep's report lists them."""

    __tablename__ = "sweep_finds"
    id: Mapped[int] = mapped_column(primary_key=True)
    sweep_id: Mapped[int] = mapped_column(sa.ForeignKey("sweeps.id"), index=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id"), index=True)
    url: Mapped[str] = mapped_column(sa.Text)
    category: Mapped[str | None] = mapped_column(sa.String(40))
    reason: Mapped[str] = mapped_column(sa.Text)
    found_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (sa.UniqueConstraint("sweep_id", "case_id"),)


class SweptPage(Base):
    """A page some sweep fetched: a later sweep within the revisit window follows its links
    from here instead of fetching it again (URL dedup across sweeps)."""

    __tablename__ = "swept_pages"
    url_key: Mapped[str] = mapped_column(sa.String(64), primary_key=True)  # sha256 of the URL
    url: Mapped[str] = mapped_column(sa.Text)
    sweep_id: Mapped[int] = mapped_column(sa.ForeignKey("sweeps.id"), index=True)
    status: Mapped[int]
    links: Mapped[list[Any]] = mapped_column(default=list)
    fetched_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
