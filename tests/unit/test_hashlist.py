"""Hash-list CSV reading: good rows, normalized values, bad rows with their line numbers."""

from __future__ import annotations

import io

import pytest

from classifiers.hashlist import (
    HASH_TYPES,
    MAX_FIELD,
    HashListFormatError,
    HashRow,
    RowError,
    normalize_hash,
    read_csv,
    read_csv_bytes,
)

SHA256 = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
MD5 = "098f6bcd4621d373cade4e832627b4f6"
SHA1 = "a94a8fe5ccb19ba61c4c0873d391e987982fbbd3"
PHASH = "c2bdbdc033633cc1"
PDQ = "3c17e23d39c201c2be21c33cc23d39c2fe29fe61433cbdc31dc6e22119de19de"


def read(text: str) -> list[HashRow | RowError]:
    return list(read_csv(io.StringIO(text, newline="")))


def only_errors(rows: list[HashRow | RowError]) -> list[RowError]:
    return [row for row in rows if isinstance(row, RowError)]


# --- normalize_hash --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("hash_type", "value", "expected"),
    [
        ("sha256", SHA256, SHA256),
        ("sha256", SHA256.upper(), SHA256),
        ("SHA256", f"  {SHA256.upper()}\t", SHA256),
        ("md5", MD5, MD5),
        (" Md5 ", MD5.upper(), MD5),
        ("sha1", SHA1, SHA1),
        ("phash", PHASH.upper(), PHASH),
        ("dhash", "FFFF7FC9C181C1CC", "ffff7fc9c181c1cc"),
        ("pdq", PDQ.upper(), PDQ),
    ],
)
def test_normalize_hash_gives_lower_case_hex(hash_type: str, value: str, expected: str) -> None:
    assert normalize_hash(hash_type, value) == expected


@pytest.mark.parametrize(("hash_type", "length"), sorted(HASH_TYPES.items()))
def test_every_type_has_its_length(hash_type: str, length: int) -> None:
    assert normalize_hash(hash_type, "a" * length) == "a" * length
    with pytest.raises(ValueError, match=f"must have {length} hex digits, got {length - 1}"):
        normalize_hash(hash_type, "a" * (length - 1))
    with pytest.raises(ValueError, match=f"got {length + 1}"):
        normalize_hash(hash_type, "a" * (length + 1))


@pytest.mark.parametrize(
    ("hash_type", "value", "message"),
    [
        ("sha512", SHA256, "unknown hash type 'sha512'"),
        ("", SHA256, "unknown hash type"),
        ("md5", "g" * 32, "not hexadecimal"),
        ("md5", "0x" + "0" * 30, "not hexadecimal"),
        ("md5", MD5[:16] + " " + MD5[17:], "not hexadecimal"),
        ("md5", "", "not hexadecimal"),
        ("sha256", "Ｆ" * 64, "not hexadecimal"),  # full-width letters are not hex
    ],
)
def test_normalize_hash_says_why_it_refuses(hash_type: str, value: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        normalize_hash(hash_type, value)


# --- read_csv: good files --------------------------------------------------------------------


def test_good_rows_are_read_with_their_line_numbers() -> None:
    rows = read(f"hash_type,hash\nsha256,{SHA256}\nmd5,{MD5}\nsha1,{SHA1}\n")
    assert rows == [
        HashRow(2, "sha256", SHA256),
        HashRow(3, "md5", MD5),
        HashRow(4, "sha1", SHA1),
    ]


def test_values_and_types_are_normalized() -> None:
    rows = read(f"hash_type,hash\n SHA256 , {SHA256.upper()} \nPDQ,{PDQ.upper()}\n")
    assert rows == [HashRow(2, "sha256", SHA256), HashRow(3, "pdq", PDQ)]


def test_header_names_are_case_and_space_insensitive() -> None:
    assert read(f" Hash_Type , HASH \nmd5,{MD5}\n") == [HashRow(2, "md5", MD5)]


def test_bom_before_the_header_is_ignored() -> None:
    assert read(f"\ufeffhash_type,hash\nmd5,{MD5}\n") == [HashRow(2, "md5", MD5)]


def test_bom_in_bytes_is_ignored() -> None:
    data = f"hash_type,hash\r\nmd5,{MD5}\r\n".encode("utf-8-sig")
    assert data.startswith(b"\xef\xbb\xbf")
    assert list(read_csv_bytes(data)) == [HashRow(2, "md5", MD5)]


def test_blank_lines_are_skipped_and_do_not_shift_line_numbers() -> None:
    rows = read(f"hash_type,hash\n\nmd5,{MD5}\n\n   \n,\nsha1,{SHA1}\n\n")
    assert rows == [HashRow(3, "md5", MD5), HashRow(7, "sha1", SHA1)]


def test_extra_columns_category_and_note_are_read() -> None:
    text = (
        "hash_type,hash,category,note\n"
        f"sha256,{SHA256},csam,from partner hotline\n"
        f"md5,{MD5},,\n"
        f'phash,{PHASH}, extremism ,"note, with a comma"\n'
    )
    assert read(text) == [
        HashRow(2, "sha256", SHA256, "csam", "from partner hotline"),
        HashRow(3, "md5", MD5, None, None),
        HashRow(4, "phash", PHASH, "extremism", "note, with a comma"),
    ]


def test_columns_may_come_in_any_order_and_unknown_ones_are_ignored() -> None:
    text = f"note,source,hash,category,hash_type\nseen twice,x,{MD5},fraud,md5\n"
    assert read(text) == [HashRow(2, "md5", MD5, "fraud", "seen twice")]


def test_short_row_leaves_optional_columns_empty() -> None:
    assert read(f"hash_type,hash,category,note\nmd5,{MD5}\n") == [HashRow(2, "md5", MD5)]


def test_header_only_gives_no_rows() -> None:
    assert read("hash_type,hash\n") == []


# --- read_csv: bad files and rows ------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        (f"sha256,{SHA256}\nmd5,{MD5}\n", "header must name 'hash_type' and 'hash'"),
        ("type,value\n", "header must name"),
        ("hash_type,category\n", "header must name"),
        ("hash,category\n", "header must name"),
    ],
)
def test_missing_header_is_a_format_error(text: str, message: str) -> None:
    with pytest.raises(HashListFormatError, match=message):
        read(text)


def test_unreadable_header_is_a_format_error() -> None:
    with pytest.raises(HashListFormatError, match="line 1"):
        read("hash_type,hash," + "x" * (MAX_FIELD + 1) + "\n")


@pytest.mark.parametrize(
    ("bad_row", "message"),
    [
        (f"md5,{MD5[:-1]}", "md5 value must have 32 hex digits, got 31"),
        (f"sha256,{SHA256}00", "sha256 value must have 64 hex digits, got 66"),
        (f"sha1,{SHA1[:-1]}z", "not hexadecimal"),
        (f"md5,{MD5[:10]}-{MD5[11:]}", "not hexadecimal"),
        (f"sha512,{SHA256}", "unknown hash type 'sha512'"),
        (f"crc32,{MD5}", "unknown hash type"),
        ("md5,", "missing hash_type or hash"),
        (f",{MD5}", "missing hash_type or hash"),
        ("md5", "missing hash_type or hash"),
    ],
)
def test_bad_row_is_reported_with_its_line(bad_row: str, message: str) -> None:
    text = f"hash_type,hash\nmd5,{MD5}\n\n{bad_row}\nsha1,{SHA1}\n"
    rows = read(text)
    assert rows[0] == HashRow(2, "md5", MD5)
    assert isinstance(rows[1], RowError)
    assert rows[1].line == 4
    assert message in rows[1].message
    assert rows[2] == HashRow(5, "sha1", SHA1)
    assert len(rows) == 3


def test_every_bad_row_is_reported_not_just_the_first() -> None:
    text = f"hash_type,hash\nmd5,xyz\nsha1,{SHA1}\nfoo,{MD5}\nmd5,{MD5}1\n"
    errors = only_errors(read(text))
    assert [error.line for error in errors] == [2, 4, 5]


def test_oversized_field_is_a_row_error_and_reading_goes_on() -> None:
    text = f"hash_type,hash,note\nmd5,{MD5},{'n' * (MAX_FIELD + 10)}\nsha1,{SHA1},ok\n"
    rows = read(text)
    assert isinstance(rows[0], RowError)
    assert rows[0].line == 2
    assert "unreadable CSV" in rows[0].message
    assert rows[1] == HashRow(3, "sha1", SHA1, None, "ok")


def test_long_bad_value_is_cut_short_in_the_message() -> None:
    rows = read("hash_type,hash\nmd5," + "z" * 1000 + "\n")
    (error,) = only_errors(rows)
    assert "not hexadecimal" in error.message
    assert len(error.message) < 200
