"""Obfuscated spellings reach the model as the words they stand for; clean text is left alone."""

from __future__ import annotations

import pytest

from classifiers.text_normalize import MAX_CHARS, normalize


@pytest.mark.parametrize(
    ("written", "read"),
    [
        ("З@кл@дк1 в Алмате", "закладкі в алмате"),  # leet symbols and digits in Cyrillic
        ("zаkладкi тут", "закладкі тут"),  # Latin letters inside a Cyrillic word
        ("сaйт", "сайт"),  # one Latin look-alike
        ("k0ka1n delivery", "kokain delivery"),  # leet in Latin
        ("kоkаin", "kokain"),  # Cyrillic look-alikes inside a Latin word
        ("nееd wееd in Тaraz", "need weed in taraz"),  # the script of the word's own letters
        ("к у п и т ь  с о л ь", "купить  соль"),  # spaced letters; two spaces end a word
        ("з.а.к.л.а.д.к.а", "закладка"),
        ("с-т-а-в-к-и", "ставки"),
        ("ств0л и пи$толет", "ствол и пистолет"),
        ("ОООЧЕНЬ", "оочень"),  # letter runs cut to two
        ("за\u200bклад\u00adки", "закладки"),  # invisible characters dropped
        ("Ёлка", "елка"),
        ("ＸＸＸ ｖｉｄｅｏ", "xx video"),  # full-width forms (NFKC), then the run cut
    ],
)
def test_obfuscations_are_undone(written: str, read: str) -> None:
    assert normalize(written) == read


@pytest.mark.parametrize(
    "text",
    [
        "қазақ тілі әдемі: ғ, қ, ң, ө, ұ, ү, һ, і",  # Kazakh letters are letters, not look-alikes
        "цена 5000тг, 24/7, 2026 год",  # plain numbers stay numbers
        "я и ты в кино, а он к нам",  # single-letter words are not spaced-out letters
        "plain english text, nothing to fold",
    ],
)
def test_clean_text_is_only_casefolded(text: str) -> None:
    assert normalize(text) == text.casefold()


def test_only_the_first_max_chars_are_read() -> None:
    assert len(normalize("а" * (MAX_CHARS + 500))) <= MAX_CHARS


def test_hostile_text_does_not_break_it() -> None:
    nasty = "\x00\ud7ff\U0001f600" * 1000 + "з@" * 3000 + "a." * 5000
    assert isinstance(normalize(nasty), str)
