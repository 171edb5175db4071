"""An explainable priority for a case: a band first, then points, each point with its reason.

Waiting time must grow a case's priority without re-scoring every case every minute. With points
that grow linearly in waiting hours, ordering by `base_points - rate * created_hours` is the same as
ordering by the current total, so the queue sorts on a stored `rank_key` and shows current points.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from triage_api.config import Settings

BANDS = {3: "confirmed-likely", 2: "likely", 1: "possible", 0: "unlikely"}
EPOCH_HOUR = 3600.0
Reason = dict[str, Any]  # {"code", "points", "text"}


@dataclass(frozen=True, slots=True)
class KnownMatch:
    list_name: str
    category: str
    hash_type: str
    trust: str = "trusted"
    distance: int = 0
    via: str | None = None  # "flip-h", "frame 3": found through another view of the file

    def describe(self) -> str:
        how = self.hash_type if not self.distance else f"{self.hash_type} distance {self.distance}"
        return f"{self.list_name} ({self.category}, {how}{', ' + self.via if self.via else ''})"


@dataclass(frozen=True, slots=True)
class ModelSignal:
    """A model's probability for one harmful category that the taxonomy lets that signal name."""

    model: str
    signal: str  # "text", "image"
    category: str
    probability: float
    terms: tuple[str, ...] = ()

    def describe(self) -> str:
        words = f" ({', '.join(self.terms[:4])})" if self.terms else ""
        return f"{self.model} says {self.category} {self.probability:.2f}{words}"


@dataclass(frozen=True, slots=True)
class ScoreInputs:
    created_at: datetime
    claimed_categories: list[str | None]
    reporters: int
    matches: list[KnownMatch] = field(default_factory=list)
    capture_outcome: str | None = None
    http_status: int | None = None
    jurisdiction: str | None = None  # "kaznet", "foreign", "unknown"
    country: str | None = None
    signals: list[ModelSignal] = field(default_factory=list)
    source: str = "public"  # "sweep": found by a proactive sweep, not reported


@dataclass(frozen=True, slots=True)
class Score:
    band: int
    base_points: float
    rank_key: float
    category: str | None
    reasons: list[Reason]

    @property
    def band_name(self) -> str:
        return BANDS[self.band]


def score_case(inputs: ScoreInputs, settings: Settings) -> Score:
    reasons: list[Reason] = []
    band = 0
    weights = settings.severities()
    category = _most_severe(inputs.claimed_categories, weights)
    trusted = [m for m in inputs.matches if m.trust == "trusted"]
    if trusted:
        band = 3
        names = ", ".join(sorted({m.describe() for m in _nearest(trusted)}))
        reasons.append(_reason("known_match", settings.points_known_match, f"on list {names}"))
        category = _most_severe([m.category for m in trusted], weights) or category
    elif inputs.matches:
        band = max(band, 2)
        names = ", ".join(sorted({m.list_name for m in inputs.matches}))
        reasons.append(
            _reason("known_match", settings.points_known_match / 4, f"on untrusted list {names}")
        )
    severity = weights.get(category or "", 0.0)
    if severity:
        reasons.append(
            _reason(
                "claimed_category",
                severity * settings.points_per_severity,
                f"reported as {category} (severity {severity:g})",
            )
        )
        band = max(band, 1)
    signal = _strongest(inputs.signals, settings, weights)
    if signal is not None:
        likely = signal.probability >= settings.classifier_likely
        band = max(band, 2 if likely else 1)
        category = category or signal.category
        weight = weights.get(signal.category, 0.0) * signal.probability
        reasons.append(
            _reason("classifier", weight * settings.points_per_severity, signal.describe())
        )
    extra = max(0, inputs.reporters - 1)
    if extra:
        points = min(settings.max_reporter_points, extra * settings.points_per_extra_reporter)
        reasons.append(_reason("reporters", points, f"{inputs.reporters} reports"))
    if inputs.capture_outcome and inputs.capture_outcome != "ok":
        reasons.append(
            _reason(
                "capture_failed",
                settings.points_capture_failed,
                f"capture {inputs.capture_outcome}",
            )
        )
    elif inputs.http_status is not None and inputs.http_status >= 400:
        reasons.append(
            _reason(
                "offline", settings.points_capture_failed, f"page answered {inputs.http_status}"
            )
        )
    if inputs.jurisdiction == "kaznet":
        reasons.append(_reason("jurisdiction", settings.points_kaznet, "in Kaznet: ours to act on"))
    elif inputs.jurisdiction == "foreign":
        where = f" ({inputs.country})" if inputs.country else ""
        reasons.append(
            _reason("jurisdiction", 0.0, f"foreign{where}: forward to a partner hotline")
        )
    if inputs.source == "sweep" and not inputs.matches:
        reasons.append(
            _reason("source", settings.points_sweep, "found by a sweep, not reported by a person")
        )
    base = sum(float(r["points"]) for r in reasons)
    created_hours = inputs.created_at.timestamp() / EPOCH_HOUR
    rank_key = base - settings.points_per_waiting_hour * created_hours
    return Score(band, round(base, 3), rank_key, category, reasons)


def waiting_reason(created_at: datetime, now: datetime, settings: Settings) -> Reason:
    hours = max(0.0, (now - created_at).total_seconds() / EPOCH_HOUR)
    return _reason("waiting", settings.points_per_waiting_hour * hours, f"waiting {hours:.1f} h")


def current_points(
    base_points: float, created_at: datetime, now: datetime, settings: Settings
) -> float:
    return base_points + float(waiting_reason(created_at, now, settings)["points"])


def _nearest(matches: list[KnownMatch]) -> list[KnownMatch]:
    """The closest match per list and hash type: one line per list in the reason, not per view."""
    best: dict[tuple[str, str], KnownMatch] = {}
    for match in matches:
        key = (match.list_name, match.hash_type)
        if key not in best or match.distance < best[key].distance:
            best[key] = match
    return list(best.values())


def _strongest(
    signals: list[ModelSignal], settings: Settings, weights: dict[str, float]
) -> ModelSignal | None:
    """The signal weighing most (severity × probability) among those sure enough to count."""
    counted = [s for s in signals if s.probability >= settings.classifier_possible]
    if not counted:
        return None
    return max(
        counted,
        key=lambda s: (weights.get(s.category, 0.0) * s.probability, s.category),
    )


def _most_severe(categories: list[str | None], weights: dict[str, float]) -> str | None:
    known = [c for c in categories if c]
    if not known:
        return None
    return max(known, key=lambda c: (weights.get(c, 0.0), c))


def _reason(code: str, points: float, text: str) -> Reason:
    return {"code": code, "points": round(points, 2), "text": text}
