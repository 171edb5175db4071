"""The `hotline` command line against a SQLite data dir: reports, users, hashes, hash lists."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa
from PIL import Image

from crawler.evidence import EvidenceStore
from crawler.sandbox import SandboxWeb
from tests.stack import Stack

pytestmark = pytest.mark.integration


@pytest.fixture
def cli(tmp_path: Path) -> Stack:
    stack = Stack(tmp_path / "var", {})
    stack.data_dir.mkdir(parents=True)
    stack.cli("db", "upgrade")
    return stack


def test_report_prints_a_tracking_code_and_refuses_bad_urls(cli: Stack) -> None:
    code = cli.cli("report", "http://Example.kz/a/../b", "--category", "fraud").stdout.strip()
    assert code.startswith("KZ-") and len(code) == 30
    bad = cli.cli("report", "file:///etc/passwd", check=False)
    assert bad.returncode == 2 and "scheme 'file:' is not allowed" in bad.stderr
    bad_category = cli.cli("report", "http://a.kz/", "--category", "spam", check=False)
    assert bad_category.returncode == 2 and "unknown category" in bad_category.stderr


def test_user_add_prints_a_token_once_and_refuses_duplicates(cli: Stack) -> None:
    token = cli.add_user("aigerim", "analyst")
    assert token.startswith("hlt_") and len(token) > 40
    again = cli.cli("user", "add", "aigerim", "--role", "analyst", check=False)
    assert again.returncode == 2 and "already exists" in again.stderr
    wrong_role = cli.cli("user", "add", "bob", "--role", "root", check=False)
    assert wrong_role.returncode == 2


def test_hash_prints_one_json_line_per_file(cli: Stack, tmp_path: Path) -> None:
    picture = tmp_path / "drawn.png"
    Image.new("RGB", (64, 48), (200, 30, 90)).save(picture)
    (tmp_path / "broken.jpg").write_bytes(b"\xff\xd8\xff not really")
    out = cli.cli(
        "hash",
        str(picture),
        str(tmp_path / "broken.jpg"),
        str(tmp_path / "absent.png"),
        check=False,
    )
    rows = [json.loads(line) for line in out.stdout.splitlines()]
    assert [Path(r["path"]).name for r in rows] == ["drawn.png", "broken.jpg", "absent.png"]
    assert (
        len(rows[0]["sha256"]) == 64 and len(rows[0]["phash"]) == 16 and len(rows[0]["pdq"]) == 64
    )
    assert "error" in rows[1] and "error" in rows[2]
    assert out.returncode == 2


def test_hashlist_import_is_all_or_nothing_with_line_numbers(cli: Stack, tmp_path: Path) -> None:
    listing = tmp_path / "list.csv"
    good = "a" * 64
    listing.write_text(
        f"hash_type,hash,note\nsha256,{good},ok\nmd5,xyz,bad\n\nsha1,{'b' * 39},short\n"
    )
    refused = cli.cli(
        "hashlist", "import", str(listing), "--list", "l1", "--category", "drugs", check=False
    )
    assert refused.returncode == 2
    assert "list.csv:3:" in refused.stderr and "list.csv:5:" in refused.stderr
    assert "nothing imported" in refused.stderr
    exported = cli.cli("hashlist", "export").stdout
    assert good not in exported
    skipped = cli.cli(
        "hashlist", "import", str(listing), "--list", "l1", "--category", "drugs", "--skip-bad"
    )
    assert "1 new hash(es)" in skipped.stdout and "2 bad row(s) skipped" in skipped.stdout
    assert good in cli.cli("hashlist", "export", "--list", "l1").stdout
    again = cli.cli(
        "hashlist", "import", str(listing), "--list", "l1", "--category", "drugs", "--skip-bad"
    )
    assert "0 new hash(es)" in again.stdout
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    assert (
        cli.cli(
            "hashlist", "import", str(empty), "--list", "l2", "--category", "drugs", check=False
        ).returncode
        == 2
    )


def test_capture_writes_a_capture_directory(cli: Stack, tmp_path: Path) -> None:
    with SandboxWeb() as web:
        cli.env["HOTLINE_HOST_MAP"] = json.dumps(web.host_map)
        cli.env["HOTLINE_HOST_MAP_ONLY"] = "true"
        out = tmp_path / "capture"
        result = cli.cli("capture", "http://dala-news.kz/", "--out", str(out))
    assert json.loads(result.stdout)["outcome"] == "ok"
    assert {p.name for p in out.iterdir()} >= {
        "capture.json",
        "screenshot.png",
        "page.html",
        "capture.warc.gz",
        "images",
    }
    refused = cli.cli("capture", "http://127.0.0.1/", "--out", str(tmp_path / "x"), check=False)
    assert refused.returncode == 2 and "not a public IP" in refused.stderr


def test_evidence_verify_finds_altered_stray_and_missing_files(cli: Stack) -> None:
    store = EvidenceStore(cli.data_dir / "evidence")
    kept = store.put(b"synthetic page")
    other = store.put(b"synthetic image")
    ok = cli.cli("evidence", "verify")
    assert json.loads(ok.stdout.splitlines()[-1]) == {"files_checked": 2, "problems": 0}

    path = store.path(other)
    path.chmod(0o644)
    path.write_bytes(b"altered bytes")
    (path.parent / ".incoming-x").write_bytes(b"half")
    with sa.create_engine(cli.db_url).begin() as connection:
        connection.execute(
            sa.text(
                "INSERT INTO media (sha256, md5, sha1, size, first_seen_at)"
                " VALUES (:s, :m, :h, 1, :t)"
            ),
            {"s": "ab" * 32, "m": "0" * 32, "h": "0" * 40, "t": "2026-11-28 00:00:00"},
        )
    bad = cli.cli("evidence", "verify", check=False)
    assert bad.returncode == 1
    assert f"{other}: content does not match its hash" in bad.stdout
    assert "unfinished write" in bad.stdout
    assert f"{'ab' * 32}: recorded for media but missing" in bad.stdout
    assert kept not in bad.stdout


def test_queue_json_lists_ready_cases(cli: Stack) -> None:
    out = cli.cli("queue", "--json")
    assert out.returncode == 0 and out.stdout == ""
    assert "empty" in cli.cli("queue").stdout
