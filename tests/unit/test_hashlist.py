"""Hash-list files: normalized values, every reader's good and bad rows with their line numbers."""

from __future__ import annotations

import io
import json
import re
import tracemalloc

import pytest

from classifiers.hashlist import (
    HASH_TYPES,
    MAX_LINE,
    MAX_RECORD,
    HashListFormatError,
    HashRow,
    RowError,
    normalize_hash,
    parse_quality,
    read_lines,
)
from classifiers.hashlist_formats import (
    FORMATS,
    WRITERS,
    ListedHash,
    detect_format,
    read_csv,
    read_jsonl,
    read_rows,
)
from classifiers.hashlist_te import SIGNAL_TYPES, hash_type_for, read_hma

SHA256 = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
MD5 = "098f6bcd4621d373cade4e832627b4f6"
SHA1 = "a94a8fe5ccb19ba61c4c0873d391e987982fbbd3"
PHASH = "c2bdbdc033633cc1"
PDQ = "3c17e23d39c201c2be21c33cc23d39c2fe29fe61433cbdc31dc6e22119de19de"

Rows = list[HashRow | RowError]


def read(text: str) -> Rows:
    return list(read_csv(io.StringIO(text, newline="")))


def read_bytes(reader: object, data: bytes) -> Rows:
    return list(reader(io.BytesIO(data)))  # type: ignore[operator]


def errors(rows: Rows) -> list[RowError]:
    return [row for row in rows if isinstance(row, RowError)]


def good(rows: Rows) -> list[HashRow]:
    return [row for row in rows if isinstance(row, HashRow)]


# --- normalize_hash and quality --------------------------------------------------------------


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
        ("phash", f"0x{PHASH}", PHASH),
        ("dhash", "0XFFFF7FC9C181C1CC", "ffff7fc9c181c1cc"),
        ("pdq", PDQ.upper(), PDQ),
        ("pdq", f" 0x{PDQ.upper()} ", PDQ),
    ],
)
def test_normalize_hash_gives_lower_case_hex(hash_type: str, value: str, expected: str) -> None:
    assert normalize_hash(hash_type, value) == expected


@pytest.mark.parametrize(("hash_type", "length"), sorted(HASH_TYPES.items()))
def test_every_type_has_its_length(hash_type: str, length: int) -> None:
    assert normalize_hash(hash_type, "a" * length) == "a" * length
    with pytest.raises(
        ValueError, match=f"value 'aaaaaaaa.*' must have {length} hex digits, got {length - 1}"
    ):
        normalize_hash(hash_type, "a" * (length - 1))
    with pytest.raises(ValueError, match=f"must have {length} hex digits, got {length + 1}"):
        normalize_hash(hash_type, "a" * (length + 1))


@pytest.mark.parametrize(
    ("hash_type", "value", "message"),
    [
        ("sha512", SHA256, "unknown hash type 'sha512'"),
        ("", SHA256, "unknown hash type"),
        ("md5", "g" * 32, "md5 value 'gggg.*' is not hexadecimal \\(32 hex digits expected\\)"),
        ("md5", "0x" + "0" * 30, "not hexadecimal"),  # 0x only before perceptual hashes
        ("sha256", "0x" + SHA256[2:], "not hexadecimal"),
        ("pdq", "0x", "not hexadecimal"),
        ("md5", MD5[:16] + " " + MD5[17:], "not hexadecimal"),
        ("md5", "", "not hexadecimal"),
        ("sha256", "Ｆ" * 64, "not hexadecimal"),  # full-width letters are not hex
    ],
)
def test_normalize_hash_says_why_it_refuses(hash_type: str, value: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        normalize_hash(hash_type, value)


def test_refusal_never_echoes_control_codes_or_huge_values() -> None:
    with pytest.raises(ValueError) as refused:
        normalize_hash("md5", "\x1b[31m" + "z" * 5000)
    assert "\x1b" not in str(refused.value)
    assert len(str(refused.value)) < 200


@pytest.mark.parametrize(
    ("quality", "expected"),
    [(None, None), ("", None), ("  ", None), (0, 0), ("100", 100), (" 77 ", 77), (50.0, 50)],
)
def test_pdq_quality_is_a_whole_number(quality: object, expected: int | None) -> None:
    assert parse_quality("pdq", quality) == expected


@pytest.mark.parametrize(
    ("hash_type", "quality", "message"),
    [
        ("pdq", 101, "outside 0-100"),
        ("pdq", "-1", "outside 0-100"),
        ("pdq", "high", "not a whole number"),
        ("pdq", 50.5, "not a whole number"),
        ("pdq", True, "not a whole number"),
        ("pdq", "9" * 50, "not a whole number"),
        ("md5", 80, "only given for pdq"),
    ],
)
def test_bad_quality_is_refused(hash_type: str, quality: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_quality(hash_type, quality)


# --- bounded lines ---------------------------------------------------------------------------


def test_lines_are_numbered_and_long_or_undecodable_ones_become_errors() -> None:
    data = b"\xef\xbb\xbffirst\n" + b"x" * (MAX_LINE + 5) + b"\nok\r\n\xff\xfe bad\nlast"
    lines = list(read_lines(io.BytesIO(data)))
    assert [(line.number, line.text) for line in lines] == [
        (1, "first\n"),
        (2, None),
        (3, "ok\r\n"),
        (4, None),
        (5, "last"),
    ]
    assert "longer than" in lines[1].error and "UTF-8" in lines[3].error


def test_a_line_of_exactly_the_limit_is_kept() -> None:
    data = b"y" * MAX_LINE + b"\n" + b"z" * (MAX_LINE + 1) + b"\n"
    lines = list(read_lines(io.BytesIO(data)))
    assert lines[0].text == "y" * MAX_LINE + "\n" and lines[1].text is None


class _Endless(io.RawIOBase):
    """`size` bytes of one endless line, made up as they are read."""

    def __init__(self, size: int) -> None:
        self.left = size

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        count = min(len(buffer), self.left)
        buffer[:count] = b"a" * count
        self.left -= count
        return count


@pytest.mark.parametrize("reader", [read_csv, read_jsonl, read_hma])
def test_a_huge_single_line_costs_one_error_not_the_memory(reader: object) -> None:
    stream = io.BufferedReader(_Endless(64 * 1024 * 1024))
    tracemalloc.start()
    try:
        if reader is read_csv:
            with pytest.raises(HashListFormatError, match="line 1: line is longer than"):
                list(read_csv(stream))
            rows: Rows = []
        else:
            rows = list(reader(stream))  # type: ignore[operator]
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4 * 1024 * 1024
    if reader is not read_csv:
        assert rows == [RowError(1, f"line is longer than {MAX_LINE} characters")]


# --- csv: good files -------------------------------------------------------------------------


def test_good_rows_are_read_with_their_line_numbers() -> None:
    rows = read(f"hash_type,hash\nsha256,{SHA256}\nmd5,{MD5}\nsha1,{SHA1}\n")
    assert rows == [
        HashRow(2, "sha256", SHA256),
        HashRow(3, "md5", MD5),
        HashRow(4, "sha1", SHA1),
    ]


def test_values_and_types_are_normalized() -> None:
    rows = read(f"hash_type,hash\n SHA256 , {SHA256.upper()} \nPDQ,0x{PDQ.upper()}\n")
    assert rows == [HashRow(2, "sha256", SHA256), HashRow(3, "pdq", PDQ)]


def test_header_names_are_case_and_space_insensitive() -> None:
    assert read(f" Hash_Type , HASH \nmd5,{MD5}\n") == [HashRow(2, "md5", MD5)]


def test_bom_and_crlf_are_fine_in_text_and_bytes() -> None:
    assert read(f"\ufeffhash_type,hash\nmd5,{MD5}\n") == [HashRow(2, "md5", MD5)]
    data = f"hash_type,hash\r\nmd5,{MD5}\r\nsha1,{SHA1}\r\n".encode("utf-8-sig")
    assert read_bytes(read_csv, data) == [HashRow(2, "md5", MD5), HashRow(3, "sha1", SHA1)]


def test_blank_lines_are_skipped_and_do_not_shift_line_numbers() -> None:
    rows = read(f"\nhash_type,hash\n\nmd5,{MD5}\n\n   \n,\nsha1,{SHA1}\n\n")
    assert rows == [HashRow(4, "md5", MD5), HashRow(8, "sha1", SHA1)]


def test_optional_columns_are_read() -> None:
    text = (
        "hash_type,hash,category,source,note,quality\n"
        f"sha256,{SHA256},csam,partner-a,from partner hotline,\n"
        f"md5,{MD5},,,,\n"
        f'phash,{PHASH}, extremism ,,"note, with a comma",\n'
        f"pdq,{PDQ},,,, 90 \n"
    )
    assert read(text) == [
        HashRow(2, "sha256", SHA256, "csam", "from partner hotline", "partner-a"),
        HashRow(3, "md5", MD5),
        HashRow(4, "phash", PHASH, "extremism", "note, with a comma"),
        HashRow(5, "pdq", PDQ, quality=90),
    ]


def test_columns_may_come_in_any_order_and_unknown_ones_are_ignored() -> None:
    text = f"note,list,hash,category,hash_type,extra\nseen twice,x,{MD5},fraud,md5,1,2,3\n"
    assert read(text) == [HashRow(2, "md5", MD5, "fraud", "seen twice")]


def test_short_row_leaves_optional_columns_empty() -> None:
    assert read(f"hash_type,hash,category,note\nmd5,{MD5}\n") == [HashRow(2, "md5", MD5)]


def test_a_quoted_note_may_span_lines_and_numbers_stay_right() -> None:
    text = f'hash_type,hash,note\nmd5,{MD5},"two\nlines"\nsha1,{SHA1},x\nmd5,zz,y\n'
    rows = read(text)
    assert rows[:2] == [
        HashRow(2, "md5", MD5, note="two\nlines"),
        HashRow(4, "sha1", SHA1, None, "x"),
    ]
    assert isinstance(rows[2], RowError) and rows[2].line == 5


def test_header_only_gives_no_rows() -> None:
    assert read("hash_type,hash\n") == []


# --- csv: bad files and rows -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("\n\n", "empty"),
        (f"sha256,{SHA256}\nmd5,{MD5}\n", "header must name 'hash_type' and 'hash'"),
        ("type,value\n", "header must name"),
        ("hash_type,category\n", "header must name"),
        ("hash,category\n", "header must name"),
        ("hash_type,hash,hash\n", "column 'hash' appears 2 times"),
        ("collab,signal_type,signal_str,category,tags\n", "read with --format hma"),
    ],
)
def test_missing_header_is_a_format_error(text: str, message: str) -> None:
    with pytest.raises(HashListFormatError, match=message):
        read(text)


def test_unreadable_header_is_a_format_error() -> None:
    with pytest.raises(HashListFormatError, match="line 1"):
        read("hash_type,hash," + "x" * (MAX_LINE + 1) + "\n")
    with pytest.raises(HashListFormatError, match="line 1: line is not UTF-8"):
        read_bytes(read_csv, b"hash_type,h\xffsh\n")


@pytest.mark.parametrize(
    ("bad_row", "message"),
    [
        (f"md5,{MD5[:-1]}", f"md5 value '{MD5[:-1]}' must have 32 hex digits, got 31"),
        (f"sha256,{SHA256}00", "sha256 value .* must have 64 hex digits, got 66"),
        (f"sha1,{SHA1[:-1]}z", "not hexadecimal"),
        (f"md5,{MD5[:10]}-{MD5[11:]}", "not hexadecimal"),
        (f"md5,0x{MD5[2:]}", "not hexadecimal"),
        (f"sha512,{SHA256}", "unknown hash type 'sha512'"),
        (f"crc32,{MD5}", "unknown hash type"),
        ("md5,", "missing hash_type or hash"),
        (f",{MD5}", "missing hash_type or hash"),
        ("md5", "missing hash_type or hash"),
        (f"pdq,{PDQ},,,,101", "pdq quality 101 is outside 0-100"),
        (f"pdq,{PDQ},,,,-3", "outside 0-100"),
        (f"pdq,{PDQ},,,,good", "not a whole number"),
        (f"md5,{MD5},,,,50", "only given for pdq"),
        (f"md5,{MD5},{'c' * 41},,,", "category is longer than 40"),
        (f"md5,{MD5},,{'s' * 201},,", "source is longer than 200"),
        (f"md5,{MD5},,,{'n' * 4001},", "note is longer than 4000"),
        (f"md5,{MD5},,,nul\x00here,", "note contains a NUL"),
    ],
)
def test_bad_row_is_reported_with_its_line(bad_row: str, message: str) -> None:
    text = f"hash_type,hash,category,source,note,quality\nmd5,{MD5}\n\n{bad_row}\nsha1,{SHA1}\n"
    rows = read(text)
    assert rows[0] == HashRow(2, "md5", MD5)
    assert isinstance(rows[1], RowError), rows[1]
    assert rows[1].line == 4
    assert re.search(message, rows[1].message), rows[1]
    assert rows[2] == HashRow(5, "sha1", SHA1)
    assert len(rows) == 3


def test_every_bad_row_is_reported_not_just_the_first() -> None:
    text = f"hash_type,hash\nmd5,xyz\nsha1,{SHA1}\nfoo,{MD5}\nmd5,{MD5}1\n"
    assert [error.line for error in errors(read(text))] == [2, 4, 5]


def test_overlong_and_undecodable_lines_are_row_errors_and_reading_goes_on() -> None:
    data = (
        f"hash_type,hash,note\nmd5,{MD5},{'n' * (MAX_LINE + 10)}\n".encode()
        + b"md5,\xc3\x28bad utf8\n"
        + f"sha1,{SHA1},ok\n".encode()
    )
    rows = read_bytes(read_csv, data)
    assert rows[0] == RowError(2, f"line is longer than {MAX_LINE} characters")
    assert rows[1] == RowError(3, "line is not UTF-8 text")
    assert rows[2] == HashRow(4, "sha1", SHA1, None, "ok")


def test_an_unclosed_quote_costs_a_bounded_record_then_reading_resumes() -> None:
    filler = "".join(f"filler line {n} {'f' * 1000}\n" for n in range(MAX_RECORD // 1000 + 5))
    text = f'hash_type,hash,note\nmd5,{MD5},"never closed\n{filler}'
    rows = read(text)
    first = rows[0]
    assert isinstance(first, RowError) and "record longer than" in first.message
    assert first.line > 2
    assert len(rows) < 20  # the remaining filler lines are bad rows of their own, not one blob


def test_long_bad_value_is_cut_short_in_the_message() -> None:
    (error,) = errors(read("hash_type,hash\nmd5," + "z" * 1000 + "\n"))
    assert "not hexadecimal" in error.message
    assert len(error.message) < 200


# --- jsonl -----------------------------------------------------------------------------------


def jsonl(*lines: str) -> Rows:
    return read_bytes(read_jsonl, "\n".join(lines).encode())


def test_jsonl_rows_with_optional_keys() -> None:
    rows = jsonl(
        json.dumps({"hash_type": "md5", "hash": MD5.upper()}),
        "",
        json.dumps({"hash_type": "PDQ", "hash": f"0x{PDQ}", "quality": 88, "note": "Ескерту"}),
        json.dumps(
            {"hash": SHA256, "hash_type": "sha256", "category": "fraud", "source": "p", "x": [1]}
        ),
        json.dumps({"hash_type": "pdq", "hash": PDQ, "quality": "12", "category": None}),
    )
    assert rows == [
        HashRow(1, "md5", MD5),
        HashRow(3, "pdq", PDQ, note="Ескерту", quality=88),
        HashRow(4, "sha256", SHA256, "fraud", source="p"),
        HashRow(5, "pdq", PDQ, quality=12),
    ]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("{not json", "not valid JSON"),
        ('{"hash_type": "md5", "hash": "' + MD5 + '"', "not valid JSON"),
        ("[1, 2]", "expected a JSON object"),
        ('"md5"', "expected a JSON object"),
        ("# a comment", "not valid JSON"),
        ('{"hash": "' + MD5 + '"}', "missing hash_type or hash"),
        ('{"hash_type": "md5"}', "missing hash_type or hash"),
        ('{"hash_type": "md5", "hash": 12345}', "must be text"),
        ('{"hash_type": "md5", "hash": "' + MD5 + '", "note": 5}', "note must be text"),
        ('{"hash_type": "md5", "hash": "' + MD5 + '", "note": "\\ud800"}', "surrogate"),
        ('{"hash_type": "pdq", "hash": "' + PDQ + '", "quality": 400}', "outside 0-100"),
        ('{"hash_type": "pdq", "hash": "' + PDQ + '", "quality": [1]}', "not a whole number"),
        ('{"hash_type": "md5", "hash": "abc"}', "md5 value 'abc' must have 32 hex digits"),
        ("[" * 10_000, "not valid JSON"),
        ('{"a": ' + "9" * 10_000 + "}", "not valid JSON"),
    ],
)
def test_a_bad_jsonl_line_is_an_error_for_that_line_only(line: str, message: str) -> None:
    rows = jsonl(
        json.dumps({"hash_type": "md5", "hash": MD5}),
        line,
        '{"hash_type":"sha1","hash":"' + SHA1 + '"}',
    )
    assert rows[0] == HashRow(1, "md5", MD5)
    assert isinstance(rows[1], RowError) and rows[1].line == 2, rows[1]
    assert message in rows[1].message
    assert rows[2] == HashRow(3, "sha1", SHA1)


def test_jsonl_skips_a_bom_and_survives_binary_garbage() -> None:
    data = (
        b"\xef\xbb\xbf"
        + json.dumps({"hash_type": "md5", "hash": MD5}).encode()
        + b"\n\x00\xff\x80\n"
    )
    assert read_bytes(read_jsonl, data) == [
        HashRow(1, "md5", MD5),
        RowError(2, "line is not UTF-8 text"),
    ]


# --- hma: python-threatexchange and HMA ------------------------------------------------------


def hma(text: str) -> Rows:
    return read_bytes(read_hma, text.encode())


def test_signal_lines_with_spaces_tabs_and_trailing_fields() -> None:
    rows = hma(
        "# exported from a partner's threatexchange\n"
        f"pdq {PDQ}\n"
        f"video_md5\t{MD5.upper()}\n"
        "\n"
        f"photo_md5   {MD5}   extra fields ignored\n"
        f"PDQ 0x{PDQ}\n"
        f"video_sha256 {SHA256}\n"
        f"sha1 {SHA1}\n"
        f"phash {PHASH}\n"
    )
    assert rows == [
        HashRow(2, "pdq", PDQ),
        HashRow(3, "md5", MD5),
        HashRow(5, "md5", MD5),
        HashRow(6, "pdq", PDQ),
        HashRow(7, "sha256", SHA256),
        HashRow(8, "sha1", SHA1),
        HashRow(9, "phash", PHASH),
    ]


def test_dataset_print_lines_name_the_collaboration() -> None:
    rows = hma(
        f"'Sample Data' pdq {PDQ} FetchedSignalMetadata(opinions=[...])\n"
        f'"Partner\'s list" video_md5 {MD5} x\n'
        f"'it\\'s escaped' md5 {MD5}\n"
    )
    assert rows == [
        HashRow(1, "pdq", PDQ, source="Sample Data"),
        HashRow(2, "md5", MD5, source="Partner's list"),
        HashRow(3, "md5", MD5, source="it's escaped"),
    ]


def test_dataset_csv_keeps_collab_as_source_and_opinion_as_note() -> None:
    rows = hma(
        "collab,signal_type,signal_str,category,tags\n"
        f"Sample Data,pdq,{PDQ},TRUE_POSITIVE,tag1 tag2\n"
        f"Other,video_md5,{MD5},,\n"
        f"Other,url_md5,{MD5},,\n"
        "Other,pdq,,,\n"
    )
    assert rows[:2] == [
        HashRow(
            2,
            "pdq",
            PDQ,
            note="threatexchange category: TRUE_POSITIVE; threatexchange tags: tag1 tag2",
            source="Sample Data",
        ),
        HashRow(3, "md5", MD5, source="Other"),
    ]
    assert (
        isinstance(rows[2], RowError)
        and rows[2].line == 4
        and "not a media hash" in rows[2].message
    )
    assert rows[3] == RowError(5, "missing signal_type or signal_str")


def test_hma_signal_maps_give_one_row_per_signal_on_the_same_line() -> None:
    rows = hma(
        json.dumps({"pdq": PDQ, "video_md5": MD5})
        + "\n"
        + json.dumps({"id": 7, "signals": {"pdq": PDQ.upper()}})
        + "\n"
        + json.dumps({"pdq": "short", "vpdq": "x"})
        + "\n"
        + "{oops\n"
        + "{}\n"
    )
    assert rows[:3] == [HashRow(1, "pdq", PDQ), HashRow(1, "md5", MD5), HashRow(2, "pdq", PDQ)]
    assert [(e.line, e.message.split(" ")[0]) for e in errors(rows)] == [
        (3, "pdq"),
        (3, "signal"),
        (4, "not"),
        (5, "expected"),
    ]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (f"crc32 {MD5}", "unknown signal type 'crc32'"),
        (f"tmk {MD5}", "signal type 'tmk' is not a media hash"),
        (f"url_md5 {MD5}", "signal type 'url_md5' is not a media hash"),
        (f"raw_text {MD5}", "not a media hash"),
        (f"video_md5 {MD5[:-1]}", "md5 value .* must have 32 hex digits, got 31"),
        (f"pdq {PDQ}zz", "not hexadecimal"),
        (PDQ, "expected '<signal_type> <hash>'"),
        (f"'unterminated pdq {PDQ}", "unknown signal type"),
        (f"'bad \\N{{nope}}' pdq {PDQ}", "collaboration name is not a valid string"),
        (f"'collab only' {PDQ}", "expected '<signal_type> <hash>'"),
    ],
)
def test_bad_hma_lines_are_errors_with_their_numbers(line: str, message: str) -> None:
    rows = hma(f"pdq {PDQ}\n{line}\nmd5 {MD5}\n")
    assert rows[0] == HashRow(1, "pdq", PDQ) and rows[2] == HashRow(3, "md5", MD5)
    assert isinstance(rows[1], RowError) and rows[1].line == 2, rows[1]
    assert re.search(message, rows[1].message), rows[1].message


def test_every_signal_name_maps_to_a_hash_type_we_know() -> None:
    assert set(SIGNAL_TYPES.values()) <= set(HASH_TYPES)
    assert hash_type_for(" Video_MD5 ") == "md5" and hash_type_for("HASH_PDQ") == "pdq"


# --- formats: choosing, writing, round trips -------------------------------------------------


@pytest.mark.parametrize(
    ("path", "fmt"),
    [
        ("list.csv", "csv"),
        ("/x/y/LIST.CSV", "csv"),
        ("a.jsonl", "jsonl"),
        ("a.ndjson", "jsonl"),
        ("signals.txt", "hma"),
        ("dump.te", "hma"),
        ("bank.hma", "hma"),
    ],
)
def test_format_is_chosen_by_extension(path: str, fmt: str) -> None:
    chosen, why = detect_format(path)
    assert chosen == fmt and "extension" in why


@pytest.mark.parametrize("path", ["list", "list.json", "list.csv.gz", "-"])
def test_unknown_extension_asks_for_format(path: str) -> None:
    with pytest.raises(HashListFormatError, match=re.escape("pass --format csv|jsonl|hma")):
        detect_format(path)


def test_read_rows_refuses_an_unknown_format() -> None:
    with pytest.raises(HashListFormatError, match="unknown format 'xml'"):
        read_rows(io.BytesIO(b""), "xml")


LISTED = [
    ListedHash("sha256", SHA256, "csam", "partner", 'note, "quoted"\nand a second line', None, "a"),
    ListedHash("pdq", PDQ, "extremism", None, None, 73, "a"),
    ListedHash("md5", MD5, None, "", "Қазақша ескерту", None, "b"),
    ListedHash("phash", PHASH, "fraud", None, "", None, "b"),
]


@pytest.mark.parametrize("fmt", FORMATS)
def test_written_rows_read_back_the_same(fmt: str) -> None:
    out = io.StringIO()
    assert WRITERS[fmt](out, LISTED) == len(LISTED)
    rows = read_rows(io.BytesIO(out.getvalue().encode()), fmt)
    back = [(r.hash_type, r.value, r.category, r.note, r.quality) for r in good(list(rows))]
    expected = [(h.hash_type, h.value, h.category, h.note or None, h.quality) for h in LISTED]
    if fmt == "hma":  # type and hash only
        back = [row[:2] for row in back]
        expected = [row[:2] for row in expected]
    assert back == expected
