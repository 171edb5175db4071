"""`hotline hashlist import|export|list` on both engines: round trips, all-or-nothing, metadata."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.stack import Stack
from triage_api import db
from triage_api.cli import main
from triage_api.hashlists import ImportProgress
from triage_api.models import AuditEntry, HashList, KnownHash

pytestmark = pytest.mark.integration

SHA256 = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
MD5 = "098f6bcd4621d373cade4e832627b4f6"
SHA1 = "a94a8fe5ccb19ba61c4c0873d391e987982fbbd3"
PHASH = "c2bdbdc033633cc1"
DHASH = "ffff7fc9c181c1cc"
PDQ = "3c17e23d39c201c2be21c33cc23d39c2fe29fe61433cbdc31dc6e22119de19de"

SAMPLE_CSV = (
    "\ufeffhash_type,hash,category,source,note,quality\r\n"
    f'sha256,{SHA256.upper()},csam,,"partner\'s note, with a comma",\r\n'
    f'md5,{MD5},,,"two\r\nlines",\r\n'
    f"sha1,{SHA1},extremism,,Қазақша,\r\n"
    f"phash,0x{PHASH},,,,\r\n"
    f"dhash,{DHASH},,,,\r\n"
    f"pdq,{PDQ},,,,87\r\n"
)


@dataclass
class Run:
    code: int
    out: str
    err: str


Hotline = Callable[..., Run]


@pytest.fixture
def hotline(capsys: pytest.CaptureFixture[str]) -> Hotline:
    """`hotline ARGS...` in this process: exit code, stdout and stderr."""

    def run(*args: str) -> Run:
        code = main(list(args))
        captured = capsys.readouterr()
        return Run(code, captured.out, captured.err)

    return run


def write(path: Path, text: str) -> str:
    path.write_bytes(text.encode())
    return str(path)


def stored(list_name: str) -> set[tuple[object, ...]]:
    with db.session_scope() as session:
        rows = session.execute(
            sa.select(
                KnownHash.hash_type,
                KnownHash.value,
                sa.func.coalesce(KnownHash.category, HashList.category),
                KnownHash.note,
                KnownHash.quality,
            )
            .join(HashList, HashList.id == KnownHash.list_id)
            .where(HashList.name == list_name)
        ).all()
    return {tuple(row) for row in rows}


def list_names() -> list[str]:
    with db.session_scope() as session:
        return list(session.scalars(sa.select(HashList.name).order_by(HashList.name)))


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "hma"])
def test_export_then_import_gives_the_same_rows(
    database: str, hotline: Hotline, tmp_path: Path, fmt: str
) -> None:
    source = write(tmp_path / "partner.csv", SAMPLE_CSV)
    first = hotline("hashlist", "import", source, "--list", "partner", "--category", "fraud")
    assert first.code == 0, first.err
    assert "format: csv (from the .csv extension)" in first.err
    assert "6 new hash(es), 0 already present (6 row(s) read)" in first.out
    original = stored("partner")
    assert (("pdq", PDQ, "fraud", None, 87)) in original
    assert ("md5", MD5, "fraud", "two\r\nlines", None) in original
    assert ("sha256", SHA256, "csam", "partner's note, with a comma", None) in original

    out = tmp_path / f"exported.{'jsonl' if fmt == 'jsonl' else fmt}"
    exported = hotline(
        "hashlist", "export", "--list", "partner", "--format", fmt, "--out", str(out)
    )
    assert exported.code == 0 and f"6 hash(es) exported as {fmt}" in exported.err
    assert exported.out == ""
    again = hotline("hashlist", "import", str(out), "--list", "copy", "--category", "fraud")
    assert again.code == 0, again.err
    assert "list 'copy' (new known list): 6 new hash(es)" in again.out
    copy = stored("copy")
    if fmt == "hma":  # type and hash only: the list's category, no note, no quality
        assert {row[:2] for row in copy} == {row[:2] for row in original}
        assert {row[2:] for row in copy} == {("fraud", None, None)}
    else:
        assert copy == original


def test_export_streams_to_stdout_in_every_format(
    database: str, hotline: Hotline, tmp_path: Path
) -> None:
    hotline(
        "hashlist",
        "import",
        write(tmp_path / "l.csv", SAMPLE_CSV),
        "--list",
        "a",
        "--category",
        "drugs",
    )
    csv_out = hotline("hashlist", "export").out
    assert csv_out.splitlines()[0] == "hash_type,hash,category,source,note,quality,list"
    assert f"pdq,{PDQ},drugs,l.csv,,87,a" in csv_out
    lines = [
        json.loads(line)
        for line in hotline("hashlist", "export", "--format", "jsonl").out.splitlines()
    ]
    assert {
        "hash_type": "pdq",
        "hash": PDQ,
        "category": "drugs",
        "source": "l.csv",
        "quality": 87,
        "list": "a",
    } in lines
    hma = hotline("hashlist", "export", "--format", "hma").out.splitlines()
    assert f"pdq {PDQ}" in hma and len(hma) == 6
    missing = hotline("hashlist", "export", "--list", "nope")
    assert missing.code == 2 and "no hash list named 'nope'" in missing.err


def test_a_bad_row_means_nothing_is_imported_and_every_bad_line_is_named(
    database: str, hotline: Hotline, tmp_path: Path
) -> None:
    # More than one batch of good rows is written before the first bad row turns up.
    good = "".join(f"md5,{n:032x}\n" for n in range(5000))
    bad = "".join(f"md5,zz{n}\n" for n in range(60))
    path = write(tmp_path / "list.csv", f"hash_type,hash\n{good}sha1,{'b' * 39}\n{bad}")
    refused = hotline("hashlist", "import", path, "--list", "l1", "--category", "drugs")
    assert refused.code == 2
    assert f"list.csv:5002: sha1 value '{'b' * 39}' must have 40 hex digits, got 39" in refused.err
    assert "list.csv:5003: md5 value 'zz0' is not hexadecimal" in refused.err
    assert "list.csv:5051:" in refused.err and "list.csv:5052:" not in refused.err  # first 50
    assert "… and 11 more bad row(s)" in refused.err
    assert "nothing imported: 61 bad row(s) of 5061" in refused.err
    assert list_names() == []  # not even the new list stays
    with db.session_scope() as session:
        assert session.scalar(sa.select(sa.func.count(KnownHash.id))) == 0

    earlier = write(tmp_path / "earlier.csv", f"hash_type,hash\nsha1,{SHA1}\n")
    assert hotline("hashlist", "import", earlier, "--list", "l1", "--category", "drugs").code == 0
    into_existing = hotline("hashlist", "import", path, "--list", "l1", "--category", "drugs")
    assert into_existing.code == 2 and "nothing imported" in into_existing.err
    assert stored("l1") == {("sha1", SHA1, "drugs", None, None)}


def test_skip_bad_imports_the_good_rows_and_still_names_the_bad_ones(
    database: str, hotline: Hotline, tmp_path: Path
) -> None:
    path = write(
        tmp_path / "mixed.jsonl",
        json.dumps({"hash_type": "md5", "hash": MD5}) + "\n"
        "{broken\n"
        + json.dumps({"hash_type": "sha256", "hash": SHA256, "category": "spam"})
        + "\n"
        + json.dumps({"hash_type": "pdq", "hash": PDQ, "quality": 300})
        + "\n"
        + json.dumps({"hash_type": "pdq", "hash": PDQ, "quality": 30})
        + "\n",
    )
    done = hotline("hashlist", "import", path, "--list", "l1", "--category", "drugs", "--skip-bad")
    assert done.code == 0
    assert "mixed.jsonl:2: not valid JSON" in done.err
    assert "mixed.jsonl:3: unknown category 'spam'" in done.err
    assert "mixed.jsonl:4: pdq quality 300 is outside 0-100" in done.err
    assert "2 new hash(es), 0 already present, 3 bad row(s) skipped (5 row(s) read)" in done.out
    assert stored("l1") == {("md5", MD5, "drugs", None, None), ("pdq", PDQ, "drugs", None, 30)}


def test_importing_the_same_file_twice_adds_nothing_and_says_so(
    database: str, hotline: Hotline, tmp_path: Path
) -> None:
    text = f"pdq {PDQ}\nvideo_md5 {MD5}\nmd5 {MD5.upper()}\n'Sample Data' pdq {PDQ}\n"
    path = write(tmp_path / "bank.te", text)
    first = hotline("hashlist", "import", path, "--list", "bank", "--category", "extremism")
    assert "format: hma (from the .te extension)" in first.err
    assert "2 new hash(es), 2 already present (4 row(s) read)" in first.out
    assert "1 row(s) named their own source" in first.err
    second = hotline("hashlist", "import", path, "--list", "bank", "--category", "extremism")
    assert second.code == 0
    assert "list 'bank': 0 new hash(es), 4 already present (4 row(s) read)" in second.out
    with db.session_scope() as session:
        audited = session.scalars(
            sa.select(AuditEntry).where(AuditEntry.action == "hashlist.imported")
        ).all()
    assert [entry.details["added"] for entry in audited] == [2, 0]
    with db.session_scope() as session:  # rows written past the ORM read back like ORM rows
        added_at = session.scalars(sa.select(KnownHash.added_at)).all()
        created_at = session.scalars(sa.select(HashList.created_at)).one()
        raw = session.execute(sa.text("SELECT added_at FROM known_hashes")).scalars().all()
        raw_created = session.execute(sa.text("SELECT created_at FROM hash_lists")).scalar()
    assert all(moment.tzinfo is not None and moment >= created_at for moment in added_at)
    assert {type(value) for value in raw} == {type(raw_created)}
    if isinstance(raw_created, str):  # SQLite keeps text: the same format, so it sorts right
        assert {len(value) for value in raw} == {len(raw_created)}


def test_metadata_that_disagrees_with_the_list_is_refused(
    database: str, hotline: Hotline, tmp_path: Path
) -> None:
    path = write(tmp_path / "l.csv", f"hash_type,hash\nmd5,{MD5}\n")
    hotline(
        "hashlist", "import", path, "--list", "l1", "--category", "drugs", "--source", "partner A"
    )
    other = write(tmp_path / "m.csv", f"hash_type,hash\nsha1,{SHA1}\n")
    for extra, message in (
        (["--category", "fraud"], "exists with category 'drugs' (not 'fraud')"),
        (["--category", "drugs", "--kind", "allow"], "kind 'known' (not 'allow')"),
        (["--category", "drugs", "--trust", "untrusted"], "trust 'trusted' (not 'untrusted')"),
        (["--category", "drugs", "--source", "partner B"], "source 'partner A' (not 'partner B')"),
    ):
        refused = hotline("hashlist", "import", other, "--list", "l1", *extra)
        assert refused.code == 2 and message in refused.err, refused.err
    assert stored("l1") == {("md5", MD5, "drugs", None, None)}
    same = hotline(
        "hashlist", "import", other, "--list", "l1", "--category", "drugs", "--source", "partner A"
    )
    assert same.code == 0 and "1 new hash(es)" in same.out
    unknown = hotline("hashlist", "import", other, "--list", "l2", "--category", "spam")
    assert unknown.code == 2 and "unknown category 'spam'" in unknown.err


def test_an_allow_list_keeps_its_kind_and_shows_in_the_listing(
    database: str, hotline: Hotline, tmp_path: Path
) -> None:
    path = write(
        tmp_path / "benign.ndjson", json.dumps({"hash_type": "sha256", "hash": SHA256}) + "\n"
    )
    made = hotline(
        "hashlist",
        "import",
        path,
        "--list",
        "benign-logos",
        "--category",
        "benign",
        "--kind",
        "allow",
        "--trust",
        "untrusted",
        "--note",
        "stock logos, not illegal",
    )
    assert made.code == 0 and "list 'benign-logos' (new allow list): 1 new hash(es)" in made.out
    hotline(
        "hashlist",
        "import",
        write(tmp_path / "k.csv", f"hash_type,hash\nmd5,{MD5}\n"),
        "--list",
        "known",
        "--category",
        "csam",
    )
    listing = [json.loads(line) for line in hotline("hashlist", "list", "--json").out.splitlines()]
    assert [
        (x["name"], x["kind"], x["category"], x["trust"], x["source"], x["count"]) for x in listing
    ] == [
        ("benign-logos", "allow", "benign", "untrusted", "benign.ndjson", 1),
        ("known", "known", "csam", "trusted", "k.csv", 1),
    ]
    assert listing[0]["note"] == "stock logos, not illegal" and listing[0]["created_at"]
    table = hotline("hashlist", "list").out.splitlines()
    assert table[0].split() == ["NAME", "KIND", "CATEGORY", "TRUST", "HASHES", "CREATED", "SOURCE"]
    assert table[1].split()[:5] == ["benign-logos", "allow", "benign", "untrusted", "1"]
    again = hotline("hashlist", "import", path, "--list", "benign-logos", "--category", "benign")
    assert again.code == 0 and "0 new hash(es), 1 already present" in again.out


def test_unusable_files_are_refused_with_a_reason(
    database: str, hotline: Hotline, tmp_path: Path
) -> None:
    for name, content, message in (
        ("empty.csv", "", "the file is empty"),
        ("list.xml", "<x/>", "cannot tell the format"),
        ("te.csv", "collab,signal_type,signal_str\n", "read with --format hma"),
    ):
        refused = hotline(
            "hashlist",
            "import",
            write(tmp_path / name, content),
            "--list",
            "l",
            "--category",
            "drugs",
        )
        assert refused.code == 2 and message in refused.err, refused.err
    absent = hotline(
        "hashlist", "import", str(tmp_path / "absent.csv"), "--list", "l", "--category", "drugs"
    )
    assert absent.code == 2 and "No such file" in absent.err
    stdin = hotline("hashlist", "import", "-", "--list", "l", "--category", "drugs")
    assert stdin.code == 2 and "needs --format" in stdin.err
    assert list_names() == []


def test_the_installed_command_reads_standard_input(tmp_path: Path) -> None:
    cli = Stack(tmp_path / "var", {})
    cli.data_dir.mkdir(parents=True)
    cli.cli("db", "upgrade")
    done = cli.cli(
        "hashlist",
        "import",
        "-",
        "--format",
        "hma",
        "--list",
        "piped",
        "--category",
        "fraud",
        "--progress",
        stdin=f"pdq {PDQ}\nmd5 {MD5}\n",
    )
    assert "list 'piped' (new known list): 2 new hash(es)" in done.stdout
    assert "piped" in cli.cli("hashlist", "list").stdout


def test_progress_is_at_most_once_a_second_and_only_when_watched() -> None:
    clock = iter([0.0, 0.2, 1.5, 1.9, 3.0])
    out = io.StringIO()
    progress = ImportProgress(enabled=True, out=out, clock=lambda: next(clock))
    for rows in (1000, 3000, 4000, 6000):
        progress(rows)
    assert out.getvalue().splitlines() == [
        "3,000 rows read, 2,000 rows/s",
        "6,000 rows read, 2,000 rows/s",
    ]
    quiet = io.StringIO()
    silent = ImportProgress(out=quiet)  # not a terminal, no --progress
    silent(10_000)
    assert quiet.getvalue() == ""
