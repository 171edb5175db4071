"""Every rule of the recheck verdict, on made-up fetch results (no network)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from crawler.capture import CaptureResult
from triage_api.recheck_judge import Reference, judge_full, judge_light

URL = "http://dari-shop.kz/catalogue/item-7"
PAGE = (
    "<html><head><title>Тауар 7</title></head><body>"
    "<p>Таза өнім тек бізде, жеткізу қала бойынша бір сағат ішінде, тапсырыс телеграм арқылы.</p>"
    "<p>Жаңа партия келді, бағасы өзгерген жоқ, тұрақты клиенттерге жеңілдік бар әрқашан.</p>"
    "</body></html>"
)
OTHER = (
    "<html><body><p>Our bakery sells fresh bread every morning, rye and wheat, with a cafe "
    "corner where you can sit and read the newspaper over a cup of tea.</p></body></html>"
)
PICTURE = ("a" * 64, "f0f0f0f0f0f0f0f0")
REFERENCE = Reference.from_html(URL, PAGE, [PICTURE])


def fetched(
    status: int | None = 200,
    html: str | None = PAGE,
    *,
    final_url: str = URL,
    outcome: str = "ok",
    error: str | None = None,
    title: str | None = None,
) -> CaptureResult:
    from crawler.light_fetch import page_text

    result = CaptureResult(requested_url=URL, started_at=datetime.now(UTC))
    result.http_status, result.final_url, result.outcome, result.error = (
        status,
        final_url,
        outcome,
        error,
    )
    if html is not None:
        result.html = html
        result.title, result.text = page_text(html)
    if title is not None:
        result.title = title
    return result


@pytest.mark.parametrize("status", [404, 410, 451])
def test_gone_statuses_are_removed(status: int) -> None:
    verdict = judge_light(fetched(status, "<h1>Not Found</h1>"), REFERENCE, 0, 3)
    assert verdict.outcome == "removed" and str(status) in verdict.reason


def test_a_name_that_no_longer_resolves_is_removed() -> None:
    result = fetched(None, None, outcome="network_error", error="ERR_NAME_NOT_RESOLVED: gone")
    assert judge_light(result, REFERENCE, 0, 3).outcome == "removed"


def test_unreachable_counts_up_to_removed() -> None:
    down = fetched(None, None, outcome="network_error", error="could not connect: refused")
    first, third = judge_light(down, REFERENCE, 0, 3), judge_light(down, REFERENCE, 2, 3)
    assert (first.outcome, first.unreachable) == ("error", True)
    assert (third.outcome, third.unreachable) == ("removed", True) and "3 checks" in third.reason
    assert judge_light(fetched(503, "busy"), REFERENCE, 0, 3).outcome == "error"


def test_refused_by_the_egress_policy_is_never_removal() -> None:
    refused = fetched(None, None, outcome="refused", error="the egress point refused it: private")
    verdict = judge_light(refused, REFERENCE, 5, 3)
    assert verdict.outcome == "error" and not verdict.unreachable


def test_the_same_page_is_still_online_from_the_light_fetch() -> None:
    verdict = judge_light(fetched(), REFERENCE, 0, 3)
    assert verdict.outcome == "still_online" and not verdict.full_capture


@pytest.mark.parametrize(
    ("html", "final_url"),
    [
        ("<title>404</title><p>Страница не найдена</p>", URL),
        ("<p>Бет табылмады. Басты бетке оралыңыз.</p>", URL),
        ("<p>Sorry, this page has been removed.</p>", URL),
        (OTHER, "http://dari-shop.kz/"),
    ],
)
def test_soft_404s_are_recognised_and_not_counted_removed(html: str, final_url: str) -> None:
    verdict = judge_light(fetched(200, html, final_url=final_url), REFERENCE, 0, 3)
    assert verdict.outcome == "soft_404"


def test_a_long_article_mentioning_not_found_is_not_a_soft_404() -> None:
    article = "<p>" + " ".join(["the police said the suspect was not found at home"] * 30) + "</p>"
    verdict = judge_light(fetched(200, article), REFERENCE, 0, 3)
    assert verdict.outcome == "changed" and verdict.full_capture


def test_different_text_asks_for_the_browser() -> None:
    verdict = judge_light(fetched(200, OTHER), REFERENCE, 0, 3)
    assert verdict.full_capture and verdict.outcome == "changed"


def test_full_capture_weighs_text_and_pictures() -> None:
    same, other = fetched(200, PAGE), fetched(200, OTHER)
    look_alike = ("b" * 64, "f0f0f0f0f0f0f0f1")  # re-encoded copy: another sha256, near pHash
    unrelated = ("c" * 64, "0f0f0f0f0f0f0f0f")
    assert judge_full(same, REFERENCE, [look_alike], 0, 3).outcome == "still_online"
    assert judge_full(other, REFERENCE, [unrelated], 0, 3).outcome == "removed"
    assert judge_full(same, REFERENCE, [], 0, 3).outcome == "changed"  # text left, pictures gone
    assert judge_full(other, REFERENCE, [PICTURE], 0, 3).outcome == "changed"
    assert judge_full(fetched(410, "gone"), REFERENCE, [], 0, 3).outcome == "removed"


def test_a_text_only_confirmation_is_judged_on_text() -> None:
    text_only = Reference.from_html(URL, PAGE)
    assert judge_full(fetched(200, PAGE), text_only, [], 0, 3).outcome == "still_online"
    assert judge_full(fetched(200, OTHER), text_only, [], 0, 3).outcome == "removed"
    nothing = Reference.from_html(URL, "<p>x</p>")
    assert judge_full(fetched(200, OTHER), nothing, [], 0, 3).outcome == "changed"
