"""Page prints: mirrors with small edits stay near, unrelated pages stay far, work is bounded.

Every text here is invented for the test (advert-style pages in Russian, Kazakh and English).
"""

from __future__ import annotations

import itertools
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

from classifiers import page_print as pp
from triage_api.config import Settings

SETTINGS = Settings()
TEXTS = Path(__file__).with_name("page_texts")

ADS = {
    "ru": "Реклама: курсы английского языка онлайн, первый урок бесплатно, запишитесь сегодня",
    "kk": "Жарнама: ағылшын тілі онлайн курстары, алғашқы сабақ тегін, бүгін жазылыңыз",
    "en": "Advertisement: learn English online, the first lesson is free, sign up today",
}
# Invented pages as a browser's innerText gives them: one line per block element.
PAGES = {p.stem: p.read_text(encoding="utf-8").strip() for p in TEXTS.glob("*.txt")}
SITES = {lang: PAGES[f"{lang}_site"] for lang in ("ru", "kk", "en")}
RU_SITE = SITES["ru"]


def _new_contacts(text: str) -> str:
    """Another phone, handle, mailbox, domain and year: what a mirror changes first."""
    for old, new in (
        ("701 555 12 34", "747 210 88 09"),
        ("705 123 45 67", "777 000 11 22"),
        ("700 555 00 11", "708 123 45 45"),
        ("altyn-capital.kz", "altyn-capital-2.kz"),
        ("juldyz-loto.kz", "juldyz-loto.com"),
        ("kaspi-bonus-centre.com", "kaspi-bonus.kz"),
        ("@altyn_capital_kz", "@altyn_vip"),
        ("@juldyz_loto", "@juldyz_bot"),
        ("@kaspi_bonus_help", "@bonus_help"),
        ("2024", "2025"),
    ):
        text = text.replace(old, new)
    return text


def _footer_reordered(text: str) -> str:
    lines = text.split("\n")
    return "\n".join(lines[:-2] + lines[-2:][::-1])


def _with_ads(text: str, lang: str) -> str:
    lines = text.split("\n")
    return "\n".join([*lines[:3], ADS[lang], *lines[3:]])


@pytest.mark.parametrize("lang", ["ru", "kk", "en"])
def test_mirrors_with_small_edits_stay_within_the_family_distance(lang: str) -> None:
    page = SITES[lang]
    base = pp.text_print(page)
    assert base is not None and len(base) == 16
    assert pp.distance(base, pp.text_print(_new_contacts(page)) or "") == 0
    assert pp.distance(base, pp.text_print(_footer_reordered(page)) or "") == 0
    every_edit = _with_ads(_footer_reordered(_new_contacts(page)), lang)
    for mirror in (_with_ads(page, lang), every_edit):
        assert pp.distance(base, pp.text_print(mirror) or "") <= SETTINGS.family_text_max_distance


def test_unrelated_pages_of_similar_length_are_far_apart() -> None:
    prints = {name: pp.text_print(text) for name, text in PAGES.items()}
    assert all(prints.values())
    assert len(prints) == 9
    for a, b in itertools.combinations(sorted(prints), 2):
        apart = pp.distance(prints[a] or "", prints[b] or "")
        # about half the bits differ; the nearest pair measured 24 (other pages of one site too)
        assert apart > 2 * SETTINGS.family_text_max_distance, (a, b, apart)


def test_words_are_normalized_and_addresses_left_out() -> None:
    blocks = pp.text_blocks(
        "ҚАЗАҚ Әліпбиі ｆｕｌｌ width 2024 50000тг\n"
        "info@site.kz http://x.kz/a altyn-capital.kz (www.example.com) @handle т.е.\n\n"
    )
    assert blocks == [["қазақ", "әліпбиі", "full", "width"], ["т", "е"]]


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "404",
        "Страница не найдена",
        "Бет табылмады. Басты бетке оралу.",
        "1 2 3 4 5 6 7 8 9",
    ],
)
def test_tiny_pages_have_no_print(text: str) -> None:
    assert pp.text_print(text) is None


def test_tiny_documents_have_no_dom_print() -> None:
    assert pp.dom_print("") is None
    assert pp.dom_print("<html><head></head><body><p>Not found</p></body></html>") is None


def test_prints_do_not_depend_on_the_interpreter_hash_seed() -> None:
    html = _kit(["a", "b", "c", "d"])
    code = (
        "import sys\nfrom classifiers.page_print import dom_print, text_print\n"
        f"print(text_print(sys.stdin.read()), dom_print({html!r}))"
    )
    runs = {
        subprocess.run(
            [sys.executable, "-c", code],
            input=RU_SITE,
            capture_output=True,
            text=True,
            check=True,
            env=os.environ | {"PYTHONHASHSEED": seed},
        ).stdout
        for seed in ("1", "2")
    }
    assert runs == {f"{pp.text_print(RU_SITE)} {pp.dom_print(html)}\n"}


def test_four_bands_catch_every_print_within_three_bits() -> None:
    rng = random.Random(5)
    for _ in range(500):
        a, b = _near_pair(rng, 3)
        assert any(x == y for x, y in zip(pp.bands(a), pp.bands(b), strict=True))
    assert pp.bands("ffff0000ffff0001") == (0xFFFF, 0, 0xFFFF, 1)


def test_band_neighbours_reach_every_print_within_the_family_distance() -> None:
    """Multi-index lookup: within distance d, some band is within d // 4 of the other's."""
    rng = random.Random(6)
    reach = SETTINGS.family_text_max_distance
    for _ in range(300):
        a, b = _near_pair(rng, reach)
        probes = [set(pp.band_neighbours(band, reach // 4)) for band in pp.bands(a)]
        assert any(band in near for band, near in zip(pp.bands(b), probes, strict=True))
    assert len(pp.band_neighbours(0, 2)) == 1 + 16 + 120


def _near_pair(rng: random.Random, most: int) -> tuple[str, str]:
    value = rng.getrandbits(64)
    near = value
    for bit in rng.sample(range(64), rng.randint(0, most)):
        near ^= 1 << bit
    a, b = f"{value:016x}", f"{near:016x}"
    assert pp.distance(a, b) <= most
    return a, b


# --- DOM shape ---------------------------------------------------------------------------------


def _kit(lines: list[str], ad: str = "", extra_nav: bool = False) -> str:
    """One invented scam-site template: header and nav, content sections, an ad slot, footer."""
    nav = ["Home", "Plans", "Reviews", "Contacts"] + (["Blog"] if extra_nav else [])
    sections = "".join(f"<section><h2>{line[:12]}</h2><p>{line}</p></section>" for line in lines)
    return (
        "<!doctype html><html><head><meta charset=utf-8><title>t</title>"
        "<link rel=stylesheet href=a.css><script src=a.js></script></head><body>"
        "<header><div class=logo><img src=l.png></div><nav><ul>"
        + "".join(f"<li><a href=#>{n}</a></li>" for n in nav)
        + f"</ul></nav></header><main><div class=row>{sections}</div></main>"
        + f"<aside>{ad}</aside><footer><p>c</p><p>d</p></footer></body></html>"
    )


def _news(lines: list[str]) -> str:
    items = "".join(f"<div class=art><span>1</span><div>{line}</div></div>" for line in lines)
    table = "<table><tr><td>m</td></tr></table>"
    return f"<html><head><title>n</title></head><body>{table}{items}</body></html>"


def _shop(lines: list[str]) -> str:
    cards = "".join(
        f"<div class=card><img src=p.jpg><h5>{line[:9]}</h5><p>{line}</p><button>Buy</button></div>"
        for line in lines
    )
    search = "<form><input><button>s</button></form>"
    return f"<html><head><title>s</title></head><body>{search}{cards}</body></html>"


def test_dom_prints_of_one_template_are_near_and_of_others_far() -> None:
    lines = RU_SITE.split("\n")[2:-2]
    base = pp.dom_print(_kit(lines, "<div class=ad><iframe src=x></iframe></div>")) or ""
    for ad in ("", "<div class=ad><a href=x><img src=y></a><p>Ad</p></div>"):
        mirror = pp.dom_print(_kit(lines, ad, extra_nav=True)) or ""
        assert pp.distance(base, mirror) <= SETTINGS.family_dom_max_distance
    for other in (_news(lines), _shop(lines)):
        assert pp.distance(base, pp.dom_print(other) or "") > SETTINGS.family_dom_max_distance


def test_a_hostile_page_costs_at_most_the_tag_cap() -> None:
    flood = "<div>" * (20 * 1024 * 1024 // 5)  # 20 MB of ever deeper elements
    paths = pp.tag_paths(flood)
    assert len(paths) == pp.MAX_TAGS
    assert pp.dom_print(flood) is not None
    assert len(pp.tag_paths(flood, max_chars=1000)) == 200  # only the first characters are read
    assert pp.tag_paths("<p>" + "<!--" + "x" * (20 * 1024 * 1024)) == ["p"]
    assert pp.tag_paths("<div>" * 300 + "</span>" * (4 * 1024 * 1024)) == pp.tag_paths(
        "<div>" * 300
    )
    assert pp.text_print("-" * (20 * 1024 * 1024)) is None
    words = pp.text_blocks("слово " * (4 * 1024 * 1024))
    assert sum(len(block) for block in words) == pp.MAX_TOKENS
