"""Is the confirmed content still online? The verdict of one recheck, from what it fetched.

Pure functions of the fetch result and of the confirmed page (`Reference`), so every rule is
tested without a network. Outcomes:

- `removed`: the site answers 404, 410 or 451; the name no longer resolves; the host was
  unreachable for `unreachable_needed` checks in a row; or neither the confirmed text nor any
  confirmed picture is on the page any more.
- `soft_404`: a 200 that says "not found" (or sends every path to the home page). The content is
  probably gone, but a page that only says so is not proof: an analyst looks, it is not counted.
- `changed`: part of the confirmed content is there, part is not: an analyst decides.
- `still_online`: the confirmed text (and pictures, when the full capture saw them) are there.
- `error`: nothing can be concluded (refused by the egress policy, 403, a server error once).

The light fetch reads text only. When its text matches, the page is online; otherwise the
verdict asks for a full capture (`full_capture`), whose pictures settle it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from classifiers.page_print import distance, text_print
from crawler.capture import CaptureResult
from crawler.light_fetch import page_text

SAME_TEXT_DISTANCE = 12  # bits of 64: a page with a new date or banner is still the same page
SAME_PICTURE_DISTANCE = 10  # pHash bits, as the hash engine's default
GONE_STATUSES = frozenset({404, 410, 451})
_NOT_FOUND = re.compile(
    r"\b(?:page not found|not found|no longer available|does not exist|has been removed)\b"
    r"|страница не найдена|не найдена|не найдено|не существует|страница удалена|ошибка 404"
    r"|бет табылмады|парақ табылмады|табылмады",
    re.IGNORECASE,
)
SOFT_404_MAX_WORDS = 120  # a "not found" phrase counts on a short page, not inside an article


@dataclass(frozen=True, slots=True)
class Reference:
    """The page as it was confirmed: its text print (read the way the light fetch reads) and
    the pictures that made it illegal."""

    url: str
    text_print: str | None
    media: frozenset[str] = frozenset()  # sha256
    phashes: tuple[str, ...] = ()

    @classmethod
    def from_html(
        cls, url: str, html: str | None, media: Iterable[tuple[str, str | None]] = ()
    ) -> Reference:
        pairs = list(media)
        _, text = page_text(html) if html else (None, "")
        return cls(
            url=url,
            text_print=text_print(text),
            media=frozenset(sha for sha, _ in pairs),
            phashes=tuple(p for _, p in pairs if p),
        )


@dataclass(frozen=True, slots=True)
class Verdict:
    outcome: str  # removed, soft_404, changed, still_online, error
    reason: str
    full_capture: bool = False  # the light result is ambiguous: capture in the browser
    unreachable: bool = False  # counts towards "unreachable for N checks"


def judge_light(
    result: CaptureResult, reference: Reference, unreachable_before: int, needed: int
) -> Verdict:
    """The verdict on a light fetch: final unless `full_capture` asks for the browser."""
    failed = _failure(result, unreachable_before, needed)
    if failed is not None:
        return failed
    soft = _soft_404(result, reference)
    if soft is not None:
        return soft
    apart = _text_distance(result.text, reference)
    if apart is not None and apart <= SAME_TEXT_DISTANCE:
        return Verdict("still_online", f"the confirmed text is still there ({apart} bits apart)")
    why = "the text differs" if apart is not None else "too little text to compare"
    return Verdict("changed", f"{why}; a full capture decides", full_capture=True)


def judge_full(
    result: CaptureResult,
    reference: Reference,
    pictures: Iterable[tuple[str, str | None]],
    unreachable_before: int,
    needed: int,
) -> Verdict:
    """The verdict on a browser capture, with the pictures it kept as (sha256, pHash)."""
    failed = _failure(result, unreachable_before, needed)
    if failed is not None:
        return failed
    soft = _soft_404(result, reference, rendered=True)
    if soft is not None:
        return soft
    left: list[str] = []
    gone: list[str] = []
    if reference.text_print is not None:
        _, text = page_text(result.html) if result.html else (None, result.text or "")
        apart = _text_distance(text, reference)
        same = apart is not None and apart <= SAME_TEXT_DISTANCE
        (left if same else gone).append("text")
    if reference.media:
        (left if _any_picture(pictures, reference) else gone).append("pictures")
    if not left and not gone:
        return Verdict("changed", "nothing confirmed to compare with: an analyst decides")
    if not gone:
        return Verdict("still_online", f"the confirmed {' and '.join(left)} are still there")
    if not left:
        return Verdict("removed", f"the confirmed {' and '.join(gone)} are no longer on the page")
    return Verdict(
        "changed",
        f"the confirmed {' and '.join(left)} remain, the {' and '.join(gone)} do not",
    )


def _failure(result: CaptureResult, unreachable_before: int, needed: int) -> Verdict | None:
    status = result.http_status
    error = result.error or ""
    if result.outcome == "refused":
        return Verdict("error", f"the egress policy refused the address now: {error[:200]}")
    if status in GONE_STATUSES:
        return Verdict("removed", f"the site answers {status}")
    if status is None and error.startswith("ERR_NAME_NOT_RESOLVED"):
        return Verdict("removed", "the name no longer resolves (DNS)")
    if status is None or status >= 500:
        what = f"answered {status}" if status else f"unreachable ({error[:160] or result.outcome})"
        if unreachable_before + 1 >= needed:
            return Verdict(
                "removed",
                f"{what}; unreachable for {unreachable_before + 1} checks in a row",
                unreachable=True,
            )
        return Verdict("error", f"{what} ({unreachable_before + 1} of {needed})", unreachable=True)
    if status >= 400:
        return Verdict("error", f"the site answers {status}: an analyst may look")
    return None


def _soft_404(
    result: CaptureResult, reference: Reference, rendered: bool = False
) -> Verdict | None:
    final, asked = urlsplit(result.final_url or ""), urlsplit(reference.url)
    if final.path in ("", "/") and asked.path not in ("", "/") and final.netloc:
        return Verdict(
            "soft_404", f"the page now sends visitors to the home page ({final.geturl()[:200]})"
        )
    text = result.text or ""
    if rendered and result.html:
        text = page_text(result.html)[1]
    words = len(text.split())
    said = _NOT_FOUND.search(f"{result.title or ''}\n{text[:5000]}")
    if said and words <= SOFT_404_MAX_WORDS:
        return Verdict("soft_404", f"a {result.http_status} page that says “{said.group(0)}”")
    return None


def _text_distance(text: str | None, reference: Reference) -> int | None:
    now = text_print(text)
    if now is None or reference.text_print is None:
        return None
    return distance(now, reference.text_print)


def _any_picture(pictures: Iterable[tuple[str, str | None]], reference: Reference) -> bool:
    for sha, phash in pictures:
        if sha in reference.media:
            return True
        if phash and any(
            _bits_apart(phash, known) <= SAME_PICTURE_DISTANCE for known in reference.phashes
        ):
            return True
    return False


def _bits_apart(a: str, b: str) -> int:
    try:
        return (int(a, 16) ^ int(b, 16)).bit_count()
    except ValueError:
        return 64
