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


@pytest.mark.parametrize(
    ("written", "read"),
    [
        ("Qazaqstan — úlken el, ýaqyt jetti", "қазақстан — үлкен ел, уақыт жетті"),  # 2018 acute
        ("Qūrmetti dos, üyden şyqpay-aq", "құрметті дос, үйден шықпай-ақ"),  # 2021
        ("Qazaqs'a tu'sindirme, ag'ylshyn tili", "қазақша түсіндірме, ағылшын тілі"),  # 2017
        ("qazir kerek emes, sosyn zhazamyn", "қазір керек емес, сосын жазамын"),  # chat
        ("prodam velosiped, cena dogovornaya", "продам велосипед, цена договорная"),  # Russian
        # an English clause of a code-switched text keeps its Latin words
        ("qazir kerek emes. see you at the office", "қазір керек емес. see you at the office"),
    ],
)
def test_latin_kazakh_and_russian_are_read_as_cyrillic(written: str, read: str) -> None:
    assert normalize(written) == read


@pytest.mark.parametrize(
    "text",
    [
        "Don't click: it's a scam, we'll never ask for your PIN and you're safe",
        "Our café in Zürich opens on İstanbul street",  # one marked word is not Kazakh
        "Qatar and Iraq are on the map",
    ],
)
def test_english_is_not_transliterated(text: str) -> None:
    assert normalize(text) == text.casefold()


def test_only_the_first_max_chars_are_read() -> None:
    assert len(normalize("а" * (MAX_CHARS + 500))) <= MAX_CHARS


def test_hostile_text_does_not_break_it() -> None:
    nasty = "\x00\ud7ff\U0001f600" * 1000 + "з@" * 3000 + "a." * 5000
    assert isinstance(normalize(nasty), str)
