"""Scoring: bands, explained points, and a stored rank key that orders like current points."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from triage_api.config import Settings
from triage_api.scoring import (
    KnownMatch,
    ModelSignal,
    Score,
    ScoreInputs,
    current_points,
    score_case,
    waiting_reason,
)

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def settings() -> Settings:
    return Settings()


def inputs(**overrides: object) -> ScoreInputs:
    values: dict[str, object] = {"created_at": NOW, "claimed_categories": [], "reporters": 1}
    values.update(overrides)
    return ScoreInputs(**values)  # type: ignore[arg-type]


def trusted(category: str = "csam", list_name: str = "iwf") -> KnownMatch:
    return KnownMatch(list_name=list_name, category=category, hash_type="pdq", trust="trusted")


def untrusted(category: str = "csam", list_name: str = "tips") -> KnownMatch:
    return KnownMatch(list_name=list_name, category=category, hash_type="md5", trust="untrusted")


def codes(score: Score) -> list[str]:
    return [str(reason["code"]) for reason in score.reasons]


def points_of(score: Score, code: str) -> float:
    (reason,) = [r for r in score.reasons if r["code"] == code]
    return float(reason["points"])  # type: ignore[arg-type]


# --- bands -----------------------------------------------------------------------------------


def test_nothing_known_is_band_zero_with_no_reasons(settings: Settings) -> None:
    score = score_case(inputs(), settings)
    assert (score.band, score.band_name, score.base_points, score.reasons) == (0, "unlikely", 0, [])
    assert score.category is None


def test_claimed_category_alone_is_band_one(settings: Settings) -> None:
    score = score_case(inputs(claimed_categories=["gambling"]), settings)
    assert (score.band, score.band_name, score.category) == (1, "possible", "gambling")
    assert points_of(score, "claimed_category") == 3.0 * settings.points_per_severity


def test_benign_claim_adds_no_points_and_stays_band_zero(settings: Settings) -> None:
    score = score_case(inputs(claimed_categories=["benign"]), settings)
    assert score.band == 0
    assert "claimed_category" not in codes(score)


def test_trusted_match_is_band_three(settings: Settings) -> None:
    score = score_case(inputs(matches=[trusted()]), settings)
    assert (score.band, score.band_name, score.category) == (3, "confirmed-likely", "csam")
    assert points_of(score, "known_match") == settings.points_known_match
    assert "iwf (csam, pdq)" in str(score.reasons[0]["text"])


@pytest.mark.parametrize("claimed", sorted(set(Settings().severity) - {"benign"}))
def test_trusted_match_outranks_every_claimed_category(settings: Settings, claimed: str) -> None:
    matched = score_case(inputs(matches=[trusted("gambling")]), settings)
    claim_only = score_case(
        inputs(claimed_categories=[claimed], reporters=1000, http_status=200), settings
    )
    assert matched.band == 3
    assert claim_only.band == 1
    assert matched.base_points > claim_only.base_points


def test_trusted_match_category_wins_over_the_claim(settings: Settings) -> None:
    score = score_case(
        inputs(claimed_categories=["gambling"], matches=[trusted("extremism")]), settings
    )
    assert score.category == "extremism"


def test_most_severe_trusted_match_names_the_category(settings: Settings) -> None:
    matches = [trusted("gambling", "a"), trusted("csam", "b"), trusted("fraud", "c")]
    score = score_case(inputs(matches=matches), settings)
    assert score.category == "csam"
    assert codes(score).count("known_match") == 1


def test_untrusted_match_is_band_two_with_quarter_points(settings: Settings) -> None:
    score = score_case(inputs(claimed_categories=["gambling"], matches=[untrusted()]), settings)
    assert (score.band, score.band_name) == (2, "likely")
    assert points_of(score, "known_match") == settings.points_known_match / 4
    assert "untrusted list tips" in str(score.reasons[0]["text"])


def test_trusted_beats_untrusted_when_both_match(settings: Settings) -> None:
    both = score_case(inputs(matches=[untrusted(), trusted()]), settings)
    only_untrusted = score_case(inputs(matches=[untrusted()]), settings)
    assert both.band == 3
    assert only_untrusted.band == 2
    assert both.base_points > only_untrusted.base_points


# --- severity, reporters, capture ------------------------------------------------------------


def test_severity_orders_extremism_above_gambling(settings: Settings) -> None:
    extremism = score_case(inputs(claimed_categories=["extremism"]), settings)
    gambling = score_case(inputs(claimed_categories=["gambling"]), settings)
    assert extremism.band == gambling.band == 1
    assert extremism.base_points > gambling.base_points


def test_categories_rank_in_severity_order(settings: Settings) -> None:
    ordered = ["csam", "extremism", "drugs", "weapons", "fraud", "pornography", "gambling"]
    points = [score_case(inputs(claimed_categories=[c]), settings).base_points for c in ordered]
    assert points == sorted(points, reverse=True)
    assert len(set(points)) == len(points)


def test_most_severe_claim_counts_once(settings: Settings) -> None:
    score = score_case(inputs(claimed_categories=[None, "gambling", "extremism", None]), settings)
    assert score.category == "extremism"
    assert codes(score) == ["claimed_category"]


def test_unknown_category_scores_nothing(settings: Settings) -> None:
    score = score_case(inputs(claimed_categories=["no-such-category"]), settings)
    assert score.band == 0
    assert score.base_points == 0


def test_one_reporter_adds_no_reporter_points(settings: Settings) -> None:
    assert "reporters" not in codes(score_case(inputs(reporters=1), settings))


def test_more_reporters_more_points(settings: Settings) -> None:
    points = [score_case(inputs(reporters=n), settings).base_points for n in (1, 2, 3, 5)]
    assert points == sorted(points)
    assert len(set(points)) == len(points)
    assert points[1] == settings.points_per_extra_reporter


def test_reporter_points_are_capped(settings: Settings) -> None:
    cap_reached = int(settings.max_reporter_points / settings.points_per_extra_reporter) + 1
    at_cap = score_case(inputs(reporters=cap_reached), settings)
    far_beyond = score_case(inputs(reporters=cap_reached * 100), settings)
    assert points_of(at_cap, "reporters") == settings.max_reporter_points
    assert points_of(far_beyond, "reporters") == settings.max_reporter_points
    assert "reporters" in codes(far_beyond)


@pytest.mark.parametrize("outcome", ["timeout", "dns_error", "blocked"])
def test_failed_capture_subtracts_points(settings: Settings, outcome: str) -> None:
    ok = score_case(inputs(claimed_categories=["fraud"], capture_outcome="ok"), settings)
    failed = score_case(inputs(claimed_categories=["fraud"], capture_outcome=outcome), settings)
    assert settings.points_capture_failed < 0
    assert points_of(failed, "capture_failed") == settings.points_capture_failed
    assert failed.base_points == ok.base_points + settings.points_capture_failed
    assert outcome in str(failed.reasons[-1]["text"])


@pytest.mark.parametrize(
    ("status", "offline"), [(200, False), (399, False), (400, True), (503, True)]
)
def test_http_error_status_subtracts_points(settings: Settings, status: int, offline: bool) -> None:
    score = score_case(inputs(claimed_categories=["fraud"], http_status=status), settings)
    assert ("offline" in codes(score)) is offline
    if offline:
        assert points_of(score, "offline") == settings.points_capture_failed
        assert str(status) in str(score.reasons[-1]["text"])


def test_failed_capture_and_error_status_are_not_both_counted(settings: Settings) -> None:
    score = score_case(inputs(capture_outcome="timeout", http_status=500), settings)
    assert codes(score) == ["capture_failed"]


# --- reasons ---------------------------------------------------------------------------------

VARIED_INPUTS = [
    inputs(),
    inputs(claimed_categories=["gambling"], reporters=3),
    inputs(claimed_categories=["csam"], reporters=40, capture_outcome="timeout"),
    inputs(matches=[untrusted("drugs")], claimed_categories=["drugs"], http_status=404),
    inputs(matches=[trusted(), untrusted()], claimed_categories=["fraud", None], reporters=7),
]


@pytest.mark.parametrize("case", VARIED_INPUTS)
def test_every_reason_is_explained_and_adds_up(settings: Settings, case: ScoreInputs) -> None:
    score = score_case(case, settings)
    for reason in score.reasons:
        assert set(reason) == {"code", "points", "text"}
        assert isinstance(reason["code"], str) and reason["code"]
        assert isinstance(reason["points"], int | float)
        assert isinstance(reason["text"], str) and reason["text"]
    total = sum(float(r["points"]) for r in score.reasons)  # type: ignore[arg-type]
    assert score.base_points == pytest.approx(total)


def test_reason_codes_are_unique_per_case(settings: Settings) -> None:
    score = score_case(VARIED_INPUTS[-1], settings)
    assert codes(score) == ["known_match", "claimed_category", "reporters"]


# --- waiting and rank key --------------------------------------------------------------------


def test_waiting_reason_grows_with_time(settings: Settings) -> None:
    reason = waiting_reason(NOW - timedelta(hours=3), NOW, settings)
    assert reason["code"] == "waiting"
    assert reason["points"] == 3 * settings.points_per_waiting_hour
    assert "3.0 h" in str(reason["text"])


def test_waiting_is_never_negative(settings: Settings) -> None:
    assert waiting_reason(NOW + timedelta(hours=1), NOW, settings)["points"] == 0


def test_current_points_is_base_plus_waiting(settings: Settings) -> None:
    created = NOW - timedelta(hours=10)
    expected = 42.0 + 10 * settings.points_per_waiting_hour
    assert current_points(42.0, created, NOW, settings) == pytest.approx(expected)


def test_rank_key_orders_like_current_points(settings: Settings) -> None:
    cases = [
        inputs(created_at=NOW - timedelta(hours=30), claimed_categories=["gambling"]),
        inputs(created_at=NOW - timedelta(minutes=5), claimed_categories=["csam"]),
        inputs(created_at=NOW - timedelta(hours=2), claimed_categories=["extremism"], reporters=4),
        inputs(created_at=NOW - timedelta(days=3)),
        inputs(created_at=NOW - timedelta(hours=12), capture_outcome="timeout"),
        inputs(created_at=NOW - timedelta(seconds=1), matches=[untrusted()]),
        inputs(created_at=NOW - timedelta(hours=50), claimed_categories=["pornography"]),
    ]
    scores = [score_case(case, settings) for case in cases]
    now_points = [
        current_points(score.base_points, case.created_at, NOW, settings)
        for case, score in zip(cases, scores, strict=True)
    ]
    by_rank = sorted(range(len(cases)), key=lambda i: scores[i].rank_key, reverse=True)
    by_points = sorted(range(len(cases)), key=lambda i: now_points[i], reverse=True)
    assert by_rank == by_points
    # waiting lets an old, mild case overtake a fresh, severe one
    assert now_points[6] > now_points[1]
    assert scores[6].base_points < scores[1].base_points


def test_rank_key_differences_equal_current_point_differences(settings: Settings) -> None:
    old = inputs(created_at=NOW - timedelta(hours=17, minutes=20), claimed_categories=["fraud"])
    new = inputs(created_at=NOW - timedelta(minutes=40), claimed_categories=["drugs"], reporters=3)
    old_score, new_score = score_case(old, settings), score_case(new, settings)
    point_gap = current_points(old_score.base_points, old.created_at, NOW, settings) - (
        current_points(new_score.base_points, new.created_at, NOW, settings)
    )
    assert old_score.rank_key - new_score.rank_key == pytest.approx(point_gap, abs=0.05)


def test_an_hour_older_ranks_one_hour_of_waiting_higher(settings: Settings) -> None:
    case = inputs(created_at=NOW - timedelta(hours=5), claimed_categories=["weapons"])
    older = inputs(created_at=NOW - timedelta(hours=6), claimed_categories=["weapons"])
    gap = score_case(older, settings).rank_key - score_case(case, settings).rank_key
    assert gap == pytest.approx(settings.points_per_waiting_hour)


def test_kaznet_cases_come_before_foreign_ones_and_say_why() -> None:
    settings = Settings()
    base = {"created_at": NOW, "claimed_categories": ["fraud"], "reporters": 1}
    home = score_case(ScoreInputs(**base, jurisdiction="kaznet"), settings)
    abroad = score_case(ScoreInputs(**base, jurisdiction="foreign", country="DE"), settings)
    unknown = score_case(ScoreInputs(**base), settings)
    assert home.rank_key > abroad.rank_key == unknown.rank_key
    assert any("Kaznet" in r["text"] for r in home.reasons)
    assert any("foreign (DE): forward" in r["text"] for r in abroad.reasons)


# --- model signals ----------------------------------------------------------------------------


def signal(category: str = "drugs", probability: float = 0.9, signal: str = "text") -> ModelSignal:
    return ModelSignal("hotline-text", signal, category, probability, ("закладки", "меф"))


def test_a_confident_model_makes_an_unreported_case_likely(settings: Settings) -> None:
    score = score_case(inputs(signals=[signal(probability=0.93)]), settings)
    assert (score.band_name, score.category) == ("likely", "drugs")
    assert points_of(score, "classifier") == pytest.approx(
        settings.severity["drugs"] * 0.93 * settings.points_per_severity, abs=0.01
    )
    (reason,) = [r for r in score.reasons if r["code"] == "classifier"]
    assert "drugs 0.93" in reason["text"] and "закладки" in reason["text"]


def test_a_hesitant_model_is_possible_and_a_weak_one_does_not_count(settings: Settings) -> None:
    assert score_case(inputs(signals=[signal(probability=0.6)]), settings).band_name == "possible"
    weak = score_case(inputs(signals=[signal(probability=0.3)]), settings)
    assert (weak.band, weak.reasons, weak.category) == (0, [], None)


def test_the_reporters_category_stands_and_the_model_adds_points(settings: Settings) -> None:
    score = score_case(inputs(claimed_categories=["fraud"], signals=[signal()]), settings)
    assert score.category == "fraud" and {"claimed_category", "classifier"} <= set(codes(score))


def test_the_weightiest_signal_counts(settings: Settings) -> None:
    score = score_case(inputs(signals=[signal("gambling", 0.99), signal("suicide", 0.7)]), settings)
    assert score.category == "suicide"  # 8 × 0.7 > 3 × 0.99


def test_a_model_never_outranks_a_trusted_list_match(settings: Settings) -> None:
    listed = score_case(inputs(matches=[trusted("gambling")]), settings)
    modelled = score_case(inputs(signals=[signal("extremism", 1.0)]), settings)
    assert listed.band > modelled.band


def test_a_sweep_case_ranks_lower_unless_it_matched_known_material() -> None:
    from datetime import UTC, datetime

    from triage_api.config import Settings
    from triage_api.scoring import KnownMatch, ScoreInputs, score_case

    settings = Settings()
    when = datetime(2026, 11, 29, tzinfo=UTC)
    reported = score_case(ScoreInputs(when, ["drugs"], 1), settings)
    swept = score_case(ScoreInputs(when, ["drugs"], 1, source="sweep"), settings)
    assert swept.base_points == reported.base_points + settings.points_sweep
    assert any(r["code"] == "source" for r in swept.reasons)
    known = [KnownMatch("hotline-confirmed-drugs", "drugs", "pdq", "trusted", distance=3)]
    matched = score_case(ScoreInputs(when, ["drugs"], 1, matches=known, source="sweep"), settings)
    assert matched.band == 3 and not any(r["code"] == "source" for r in matched.reasons)
