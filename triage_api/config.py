"""Every setting in one place: embedded defaults; `HOTLINE_*` variables select scale-out engines."""

from __future__ import annotations

import ipaddress
from functools import lru_cache
from pathlib import Path

from pydantic import Field, PrivateAttr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from classifiers.taxonomy import load as load_taxonomy

DEFAULT_SEVERITY: dict[str, float] = load_taxonomy().severities()


class Settings(BaseSettings):
    """Embedded engines unless `HOTLINE_DATABASE_URL` / `HOTLINE_BROKER_URL` say otherwise."""

    model_config = SettingsConfigDict(env_prefix="HOTLINE_", extra="ignore")

    data_dir: Path = Path("./var")
    database_url: str | None = None
    broker_url: str | None = None
    rate_limit_url: str | None = Field(
        default=None, description="Redis URL for the shared intake rate limit; memory if unset."
    )

    db_pool_size: int = Field(
        default=16,
        ge=1,
        description="Database connections per process; intake runs at most this many at once.",
    )

    # Proactive sweeps (Celery beat starts one at `sweep_at_utc` each day when it is set).
    sweep_at_utc: str | None = Field(
        default=None,
        pattern=r"^([01]?\d|2[0-3]):[0-5]\d$",
        description="HH:MM (UTC) of the nightly sweep seeded from the cases; none if unset.",
    )
    sweep_processes: int = Field(
        default=2, ge=1, le=64, description="Sweep processes (Celery tasks) sharing the frontier."
    )
    sweep_max_pages: int = Field(default=5000, ge=1)
    sweep_max_pages_per_host: int = Field(default=200, ge=1)
    sweep_max_depth: int = Field(default=3, ge=0, le=50)
    sweep_delay_s: float = Field(default=0.5, ge=0, description="Seconds between a host's pages.")
    sweep_per_host_concurrency: int = Field(default=2, ge=1, le=32)
    sweep_time_limit_s: float = Field(default=4 * 3600.0, gt=0)
    sweep_render: str = Field(
        default="when-needed",
        pattern="^(never|when-needed|always)$",
        description="Pages through Chromium: never, when a page is an empty app shell, always.",
    )
    sweep_revisit_h: float = Field(
        default=72.0,
        ge=0,
        description="A page a sweep fetched this recently is not fetched again; its links are "
        "followed as found. 0 fetches every page every time.",
    )

    # Intake
    report_rate_limit: int = Field(default=30, description="Reports per client per window.")
    report_rate_window_s: int = 60
    # Sign-in attempts allowed per user name and per address in the window.
    login_attempts: int = Field(default=10, ge=1)
    login_window_s: int = Field(default=900, ge=1)
    trust_forwarded_for: bool = False

    # Capture
    chromium_path: str | None = None
    capture_timeout_s: float = 45.0
    capture_max_image_bytes: int = 10 * 1024 * 1024
    capture_max_images: int = 50
    capture_max_total_bytes: int = 60 * 1024 * 1024
    capture_viewport: tuple[int, int] = (1280, 900)
    capture_max_screenshot_height: int = 12000
    host_map: dict[str, str] = Field(
        default_factory=dict,
        description="Host → 'ip:port' for the browser (sandbox web); others resolve normally.",
    )
    capture_recycle_after: int = Field(
        default=50, ge=1, description="A worker's browser is replaced after this many captures."
    )
    capture_memory_limit_mb: int = Field(
        default=2048, ge=256, description="The watchdog kills a browser whose processes pass this."
    )
    egress_allow: list[str] = Field(
        default_factory=list,
        description="CIDRs captures may reach although not public (--allow-private); JSON list.",
    )
    host_map_only: bool = Field(
        default=False, description="When a host map is set, every other host is NOTFOUND."
    )

    # Enrichment (domain, DNS, AS, hosting provider, abuse contact, registrar, jurisdiction)
    enrichment_offline: bool = Field(
        default=False,
        description="No DNS/RDAP/WHOIS look-ups (offline data only); implied by HOST_MAP_ONLY.",
    )
    enrichment_timeout_s: float = 10.0
    enrichment_dns_servers: list[str] | None = None
    enrichment_country_mmdb: Path | None = None
    enrichment_asn_mmdb: Path | None = None
    enrichment_directory: Path | None = Field(
        default=None, description="A JSON file extending the shipped Kazakhstani hosting directory."
    )

    # Pipeline
    task_hard_limit_s: int = 120
    stage_limit_s: int = Field(
        default=180, description="A case left in a pipeline stage longer than this is re-enqueued."
    )
    stage_max_attempts: int = 5

    # The audit chain seals entries this old (longer than any transaction runs), every so often.
    audit_seal_after_s: int = Field(default=300, ge=0)
    audit_seal_every_s: float = 60.0

    # Analysts' exposure: distinct pictures an analyst may reveal per day (0: no cap), and how
    # long a reveal lets the original through.
    reveal_daily_cap: int = Field(default=0, ge=0)
    reveal_grant_s: int = Field(default=600, ge=10, le=86_400)

    # Review: how long a claimed case stays with its analyst without a renewal.
    claim_lease_s: int = Field(default=900, ge=30, le=86_400)

    # Takedown notices over SMTP (`triage_api/notices.py`).
    smtp_host: str = "127.0.0.1"
    smtp_port: int = Field(default=25, ge=1, le=65_535)
    smtp_starttls: bool = False
    smtp_user: str | None = None
    smtp_password: str | None = None
    smtp_timeout_s: float = Field(default=15.0, gt=0)
    notice_from: str = "Kaznet Hotline <hotline@hotline.example.kz>"
    notice_reply_to: str | None = None
    notice_language: str = Field(default="ru", pattern="^(ru|kk|en)$")
    notice_send_attempts: int = Field(default=5, ge=1, le=20)
    notice_auto_send_band: str | None = Field(
        default=None,
        description="Notices of cases in this band go out without an analyst ('confirmed-likely').",
    )
    reporter_updates: bool = Field(
        default=False,
        description="E-mail reporters who left an address when a notice went out and at removal.",
    )
    public_base_url: str | None = Field(
        default=None, description="The public site's address, for status links in e-mails."
    )
    notice_contacts: dict[str, str] = Field(
        default_factory=dict,
        description="Addresses for escalation parties: registrar, upstream, police (JSON).",
    )
    # Rechecks and escalation (`triage_api/rechecks.py`, `triage_api/escalation.py`).
    recheck_after_h: list[float] = Field(
        default_factory=lambda: [1.0, 6.0, 24.0],
        description="Hours from the first notice to each recheck; then every recheck_every_h.",
    )
    recheck_every_h: float = Field(default=24.0, gt=0)
    recheck_unreachable_checks: int = Field(
        default=3,
        ge=1,
        description="Checks in a row the host must be unreachable to count removed.",
    )
    recheck_tick_s: float = Field(default=30.0, gt=0)
    recheck_concurrency: int = Field(default=16, ge=1, le=256)
    recheck_batch: int = Field(default=500, ge=1)
    recheck_lease_s: int = Field(default=300, ge=10)
    takedown_resend_after_h: float = Field(default=24.0, gt=0)
    takedown_escalate_after_h: list[float] = Field(
        default_factory=lambda: [72.0, 120.0, 168.0],
        description="Hours online after the first notice before registrar, upstream, police.",
    )
    reconcile_every_s: float = 30.0
    visibility_timeout_s: int = 600

    # Hash and match: largest Hamming distance that counts as the same picture, per hash type
    # (chosen in docs/hash-thresholds.md), and whether PDQ also looks for rotated/mirrored copies.
    match_phash_max_distance: int = Field(default=10, ge=0, le=32)
    match_dhash_max_distance: int = Field(default=8, ge=0, le=32)
    match_pdq_max_distance: int = Field(default=50, ge=0, le=128)
    match_pdq_dihedral: bool = True
    index_save_after: int = Field(
        default=50_000, ge=1, description="Rows added since the saved index before it is saved."
    )

    # Classification (analyse stage): models, OCR, and when a score counts in the priority
    classify_text: bool = True
    classify_images: bool = True
    text_model_path: Path | None = Field(
        default=None, description="ONNX text model; the one shipped in models/ if unset."
    )
    ocr_enabled: bool = Field(
        default=True, description="Read text in screenshots and pictures with Tesseract."
    )
    ocr_max_images: int = Field(default=4, ge=0, description="Largest pictures read per capture.")
    ocr_timeout_s: float = 20.0
    nudity_max_images: int = Field(default=24, ge=0)
    nudity_threshold: float = Field(
        default=0.5, ge=0, le=1, description="Nudity score that labels a capture pornography."
    )
    classifier_likely: float = Field(
        default=0.8, ge=0, le=1, description="Model probability that puts a case in 'likely'."
    )
    classifier_possible: float = Field(
        default=0.5, ge=0, le=1, description="Model probability that counts at all."
    )

    # Taxonomy and scoring
    taxonomy_path: Path | None = Field(
        default=None,
        description="The hotline's taxonomy JSON (names, severities, legal bases); else"
        " DATA_DIR/taxonomy.json once the supervisor page saved one, else the shipped file.",
    )
    severity: dict[str, float] = Field(
        default_factory=lambda: dict(DEFAULT_SEVERITY),
        description="Severity per category; the taxonomy's unless set here.",
    )
    points_per_severity: float = 10.0
    points_per_extra_reporter: float = 5.0
    max_reporter_points: float = 50.0
    points_per_waiting_hour: float = 2.0
    points_known_match: float = 1000.0
    points_capture_failed: float = -5.0
    points_sweep: float = Field(
        default=-15.0, description="A case a sweep found, not a person: lower unless matched."
    )
    points_kaznet: float = Field(
        default=10.0, description="Cases in Kaznet come before foreign ones we can only forward."
    )

    # Page families (mirrors): Hamming distances between 64-bit page prints, see page_families.py
    family_text_max_distance: int = Field(
        default=10,
        ge=0,
        le=11,
        description="Text prints this close make a mirror when the DOM prints agree too.",
    )
    family_text_alone_distance: int = Field(
        default=3, ge=0, le=11, description="Text prints this close make a mirror on their own."
    )
    family_dom_max_distance: int = Field(
        default=12, ge=0, le=64, description="DOM prints this close confirm a text near-match."
    )

    _severity_given: bool = PrivateAttr(default=False)

    @model_validator(mode="after")
    def _taxonomy_severity(self) -> Settings:
        self._severity_given = "severity" in self.model_fields_set
        if not self._severity_given:
            self.severity = self.severities()
        return self

    @property
    def taxonomy_copy(self) -> Path:
        """The hotline's own taxonomy file: where the supervisor page saves (never the shipped
        file), `HOTLINE_TAXONOMY_PATH` when set, else in the data directory."""
        return self.taxonomy_path or self.resolved_data_dir / "taxonomy.json"

    def taxonomy_in_force(self) -> Path | None:
        """The file the taxonomy is read from; None for the shipped one."""
        copy = self.taxonomy_copy
        return copy if self.taxonomy_path is not None or copy.exists() else None

    def severities(self) -> dict[str, float]:
        """`HOTLINE_SEVERITY` when set, else the taxonomy's as the file is now, so a severity
        edited on the supervisor page weighs the next score in every process."""
        if self._severity_given:
            return self.severity
        return load_taxonomy(self.taxonomy_in_force()).severities()

    @field_validator("egress_allow")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        for cidr in value:
            try:
                ipaddress.ip_network(cidr, strict=False)
            except ValueError:
                raise ValueError(f"{cidr!r} is not an IP network (e.g. 10.20.0.0/16)") from None
        return value

    @property
    def resolved_data_dir(self) -> Path:
        return self.data_dir.resolve()

    @property
    def evidence_dir(self) -> Path:
        return self.resolved_data_dir / "evidence"

    @property
    def index_dir(self) -> Path:
        return self.resolved_data_dir / "index"

    def max_distance(self, hash_type: str) -> int:
        """The match threshold for a perceptual hash type (0 for exact digests)."""
        return int(getattr(self, f"match_{hash_type}_max_distance", 0))

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{self.resolved_data_dir / 'hotline.sqlite'}"

    @property
    def celery_broker_url(self) -> str:
        return self.broker_url or "filesystem://localhost/"

    @property
    def embedded_broker(self) -> bool:
        return self.celery_broker_url.startswith("filesystem://")

    @property
    def broker_dir(self) -> Path:
        return self.resolved_data_dir / "broker"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
