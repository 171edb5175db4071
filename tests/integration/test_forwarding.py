"""Forwarding on both engines: the law-enforcement evidence package (complete, checksummed,
the same bytes twice, missing evidence listed) and the partner-hotline records (the exchange
fields, nothing about reporters or analysts); the CLI's exit codes and the API's roles and
headers. Every picture and page here is synthetic (`crawler/sandbox_sites.py`)."""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import shutil
import subprocess
import zipfile
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from crawler import sandbox_sites
from crawler.evidence import EvidenceStore
from tests.evidence_cases import case_with, staff
from triage_api import audit_chain, cli, config, db
from triage_api.api.app import create_app
from triage_api.decisions import MediaVerdict, record_decision
from triage_api.forwarding import (
    CaseNotFound,
    ForwardingError,
    NotForwardable,
    Package,
    evidence_package,
    partner_export,
)
from triage_api.intake import file_report
from triage_api.models import AuditEntry, Capture, Case, Media, utcnow
from triage_api.security import add_user

pytestmark = pytest.mark.integration

EMBLEM = sandbox_sites.image_bytes("emblem-10.jpg")
APPLES = sandbox_sites.image_bytes("apples.jpg")
SCREENSHOT = sandbox_sites.image_bytes("forwarding-screenshot.png")
CONTACT = "reporter-contact@example.org"
COMMENT = "my private comment about this page"
NOTE = "analyst's internal note"
ANALYST = "aigerim-forwarding"
PACKAGE_FILES = {
    "manifest.json",
    "hashes.csv",
    "decision.json",
    "audit.json",
    "SHA256SUMS",
}


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def store() -> EvidenceStore:
    return EvidenceStore(config.get_settings().evidence_dir)


def with_evidence(case_id: int, *, country: str = "DE", jurisdiction: str = "foreign") -> None:
    """Give the case's capture what the pipeline stores: screenshot, page, text, WARC, manifest,
    the browser's facts and the enrichment."""
    put = store().put
    url = "http://example-host.de/gallery/"
    warc = gzip.compress(b"WARC/1.1\r\nWARC-Type: warcinfo\r\n\r\nsynthetic\r\n\r\n", mtime=0)
    artefacts = {
        "screenshot": put(SCREENSHOT),
        "html": put(b"<html><body>synthetic gallery</body></html>"),
        "text": put(b"synthetic gallery"),
        "warc": put(warc),
    }
    with db.session_scope() as session:
        case = session.get(Case, case_id)
        assert case is not None
        capture = session.get(Capture, case.last_capture_id)
        assert capture is not None
        manifest = {"requested_url": capture.requested_url, "artefacts": artefacts}
        capture.manifest_sha256 = put(json.dumps(manifest, sort_keys=True).encode())
        capture.screenshot_sha256 = artefacts["screenshot"]
        capture.html_sha256 = artefacts["html"]
        capture.text_sha256 = artefacts["text"]
        capture.final_url = url
        capture.redirect_chain = [capture.requested_url, url]
        capture.http_status = 200
        capture.server_ip = "203.0.113.40"
        capture.browser_version = "Chromium 130.0 (synthetic)"
        capture.finished_at = utcnow()
        capture.enrichment = {
            "ip": "203.0.113.40",
            "country": country,
            "jurisdiction": jurisdiction,
            "hosting_provider": "Example Hosting GmbH",
            "as_org": "EXAMPLE-AS",
        }
        case.country, case.jurisdiction = country, jurisdiction
        session.execute(sa.update(Media).where(Media.mime.is_(None)).values(mime="image/jpeg"))


def decide(case_id: int, outcome: str, **fields: Any) -> None:
    user_id = staff(f"{ANALYST}-{case_id}")
    with db.session_scope() as session:
        record_decision(
            session,
            case_id=case_id,
            user_id=user_id,
            actor=f"user:{ANALYST}-{case_id}",
            outcome=outcome,
            **fields,
        )


def confirmed_case(url: str = "http://bad-gallery.kz/") -> int:
    case_id = case_with([EMBLEM, APPLES], url)
    with_evidence(case_id, country="KZ", jurisdiction="kaznet")
    decide(
        case_id,
        "illegal",
        category="extremism",
        note=NOTE,
        media=[MediaVerdict(sha(APPLES), "not_illegal")],
    )
    return case_id


def build(case_id: int) -> Package:
    with db.session_scope() as session:
        return evidence_package(session, case_id, store(), actor="user:boss")


def entries(package: Package) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(package.data)) as archive:
        assert archive.testzip() is None
        return {name: archive.read(name) for name in archive.namelist()}


def test_the_package_holds_the_evidence_checksummed_and_is_the_same_twice(
    database: str, tmp_path: Path
) -> None:
    case_id = confirmed_case()
    with db.session_scope() as session:
        audit_chain.seal(session, now=utcnow() + timedelta(hours=1))
    first, second = build(case_id), build(case_id)
    assert first.data == second.data and first.sha256 == second.sha256
    assert first.sha256 == sha(first.data)
    files = entries(first)
    capture_id = json.loads(files["manifest.json"])["captures"][0]["id"]
    base = f"captures/{capture_id}/"
    assert set(files) == PACKAGE_FILES | {
        base + name
        for name in (
            "capture.manifest.json",
            "capture.warc.gz",
            "screenshot.png",
            "page.html",
            "page.txt",
        )
    } | {f"media/{sha(EMBLEM)}.jpg", f"media/{sha(APPLES)}.jpg"}
    assert files[f"media/{sha(EMBLEM)}.jpg"] == EMBLEM
    assert files[base + "screenshot.png"] == SCREENSHOT
    assert sorted(files) == first.files

    sums = files["SHA256SUMS"].decode().splitlines()
    assert len(sums) == len(files) - 1
    for line in sums:
        digest, name = line.split("  ", 1)
        assert sha(files[name]) == digest, name
    if shutil.which("sha256sum"):
        unpacked = tmp_path / "unpacked"
        with zipfile.ZipFile(io.BytesIO(first.data)) as archive:
            archive.extractall(unpacked)
        check = subprocess.run(
            ["sha256sum", "-c", "--strict", "SHA256SUMS"], cwd=unpacked, capture_output=True
        )
        assert check.returncode == 0, check.stdout + check.stderr

    manifest = json.loads(files["manifest.json"])
    assert manifest["version"] == 1 and manifest["case"]["id"] == case_id
    assert manifest["missing"] == []
    assert manifest["hosting"]["country"] == "KZ"
    assert manifest["hosting"]["hosting_provider"] == "Example Hosting GmbH"
    capture = manifest["captures"][0]
    assert capture["server_ip"] == "203.0.113.40"
    assert capture["browser_version"].startswith("Chromium")
    assert capture["redirect_chain"][-1] == capture["final_url"]
    for name, data in files.items():
        if name not in ("manifest.json", "SHA256SUMS"):
            assert manifest["files"][name]["sha256"] == sha(data)

    hashes = list(csv.DictReader(io.StringIO(files["hashes.csv"].decode())))
    assert {row["sha256"]: row["verdict"] for row in hashes} == {
        sha(EMBLEM): "illegal",
        sha(APPLES): "not_illegal",
    }
    assert all(len(row["md5"]) == 32 and len(row["sha1"]) == 40 for row in hashes)

    decision = json.loads(files["decision.json"])["history"][0]
    assert decision["outcome"] == "illegal" and decision["category"] == "extremism"
    assert decision["by"] == f"{ANALYST}-{case_id}" and decision["legal_basis"]
    assert decision["media"] == [{"sha256": sha(APPLES), "outcome": "not_illegal"}]

    trail = json.loads(files["audit.json"])
    decided = [e for e in trail["entries"] if e["action"] == "case.decided"]
    assert len(decided) == 1 and decided[0]["seal"]["verified"] is True
    assert "case.exported" not in {e["action"] for e in trail["entries"]}
    assert trail["chain"]["all_sealed_entries_verified"] is True

    with db.session_scope() as session:
        exported = session.scalars(
            sa.select(AuditEntry).where(AuditEntry.action == "case.exported")
        ).all()
    assert [e.details["package_sha256"] for e in exported] == [first.sha256] * 2
    assert {e.details["kind"] for e in exported} == {"evidence_package"}
    assert {e.subject for e in exported} == {f"case:{case_id}"}


def test_evidence_missing_from_the_store_is_listed_and_the_package_still_built(
    database: str,
) -> None:
    case_id = confirmed_case()
    with db.session_scope() as session:
        capture = session.scalars(sa.select(Capture).where(Capture.case_id == case_id)).one()
        screenshot, manifest_sha = capture.screenshot_sha256, capture.manifest_sha256
    assert screenshot and manifest_sha
    store().path(screenshot).unlink()
    store().path(sha(EMBLEM)).unlink()
    package = build(case_id)
    files = entries(package)
    missing = json.loads(files["manifest.json"])["missing"]
    assert {(m["file"].rsplit("/", 1)[-1], m["sha256"]) for m in missing} == {
        ("screenshot.png", screenshot),
        (f"{sha(EMBLEM)}.jpg", sha(EMBLEM)),
    }
    assert all("missing" in m["error"] for m in missing)
    assert not any(name.endswith("screenshot.png") for name in files)
    assert f"media/{sha(APPLES)}.jpg" in files
    assert package.missing == missing

    store().path(manifest_sha).unlink()  # the WARC is named only in the capture manifest
    missing = json.loads(entries(build(case_id))["manifest.json"])["missing"]
    assert any(m["file"].endswith("capture.warc.gz") for m in missing)


def test_only_cases_decided_illegal_get_a_package(database: str) -> None:
    open_case = case_with([APPLES], "http://still-open.kz/")
    benign = case_with([APPLES], "http://benign.kz/")
    decide(benign, "not_illegal")
    for case_id, message in (
        (open_case, "not decided yet"),
        (benign, "decided 'not_illegal'"),
    ):
        with pytest.raises(NotForwardable, match=message):
            build(case_id)
    with pytest.raises(CaseNotFound, match="no case 424242"):
        build(424242)
    assert issubclass(ForwardingError, ValueError)
    with db.session_scope() as session:
        exported = session.scalar(
            sa.select(sa.func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.action == "case.exported")
        )
    assert exported == 0


def abroad_case() -> int:
    """A foreign gallery, reported with a contact and a comment, decided illegal with a note."""
    url = "http://example-host.de/gallery/"
    case_id = case_with([EMBLEM, APPLES], url)
    with db.session_scope() as session:
        filed = file_report(
            session, url=url, category="extremism", comment=COMMENT, contact=CONTACT
        )
    assert filed.case_id == case_id
    with_evidence(case_id, country="DE", jurisdiction="foreign")
    decide(
        case_id,
        "illegal",
        category="extremism",
        note=NOTE,
        media=[MediaVerdict(sha(APPLES), "not_illegal")],
    )
    return case_id


def export(**options: Any) -> list[dict[str, Any]]:
    with db.session_scope() as session:
        return partner_export(session, actor="user:boss", **options)


def test_partner_records_carry_the_exchange_fields_and_nothing_about_people(
    database: str,
) -> None:
    abroad = abroad_case()
    at_home = confirmed_case("http://kaznet-only.kz/")  # illegal, hosted at home: not forwarded
    forwarded = case_with([], "http://elsewhere.example.com/")
    decide(forwarded, "forward", category="fraud", note=NOTE)

    records = export()
    assert [r["reference"] for r in records] == [abroad, forwarded]
    record = records[0]
    assert record["url"] == "http://example-host.de/gallery/"
    assert record["final_url"] == "http://example-host.de/gallery/"
    assert record["hosting_country"] == "DE" and record["hosting_ip"] == "203.0.113.40"
    assert record["hosting_provider"] == "Example Hosting GmbH"
    assert record["category"] == "extremism" and record["legal_basis"]
    assert record["source_hotline"] == "KZ" and record["content_type"] == "webpage"
    assert record["report_count"] == 1
    for field in ("assessed_at", "first_reported_at", "captured_at"):
        assert record[field] and record[field][:4].isdigit()
    assert [h["sha256"] for h in record["hashes"]] == [sha(EMBLEM)]  # not the not-illegal one
    assert set(record["hashes"][0]) >= {"sha256", "md5", "sha1", "pdq", "phash"}
    assert records[1]["category"] == "fraud" and records[1]["hashes"] == []

    text = json.dumps(records, ensure_ascii=False)
    for secret in (CONTACT, COMMENT, NOTE, ANALYST):
        assert secret not in text

    with db.session_scope() as session:
        audited = session.scalars(
            sa.select(AuditEntry.subject).where(
                AuditEntry.action == "case.exported",
                AuditEntry.details["kind"].as_string() == "partner_export",
            )
        ).all()
    assert sorted(audited) == [f"case:{abroad}", f"case:{forwarded}"]

    assert export(since=utcnow() + timedelta(days=1)) == []
    assert [r["reference"] for r in export(case_ids=[forwarded])] == [forwarded]
    with pytest.raises(NotForwardable, match="hosted abroad"):
        export(case_ids=[abroad, at_home])
    with pytest.raises(CaseNotFound):
        export(case_ids=[999999])


def test_cli_package_and_forward(
    database: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    case_id = abroad_case()
    out = tmp_path / "case.zip"
    assert cli.main(["case", "package", str(case_id), "--out", str(out)]) == 0
    printed = capsys.readouterr().out.strip()
    assert printed == sha(out.read_bytes())

    assert cli.main(["case", "package", "999999", "--out", str(tmp_path / "x.zip")]) == 2
    assert "no case 999999" in capsys.readouterr().err
    undecided = case_with([APPLES], "http://undecided.kz/")
    assert cli.main(["case", "package", str(undecided), "--out", str(tmp_path / "y.zip")]) == 2
    assert "not decided" in capsys.readouterr().err
    assert not (tmp_path / "x.zip").exists() and not (tmp_path / "y.zip").exists()
    assert cli.main(["case", "package", str(case_id), "--out", str(tmp_path)]) == 2
    assert "is a directory" in capsys.readouterr().err

    assert cli.main(["case", "forward", "--since", "2000-01-01"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [json.loads(line)["reference"] for line in lines] == [case_id]
    assert cli.main(["case", "forward", "--case", str(case_id)]) == 0
    assert json.loads(capsys.readouterr().out)["hosting_country"] == "DE"
    assert cli.main(["case", "forward", "--since", "last tuesday"]) == 2
    assert "not a date" in capsys.readouterr().err
    assert cli.main(["case", "forward", "--case", str(undecided)]) == 2
    assert "not for a partner hotline" in capsys.readouterr().err


def test_api_serves_the_package_to_supervisors_as_an_attachment(database: str) -> None:
    case_id = abroad_case()
    undecided = case_with([APPLES], "http://undecided.kz/")
    with db.session_factory()() as session:
        analyst = add_user(session, name="analyst-f", role="analyst")[1]
        supervisor = add_user(session, name="supervisor-f", role="supervisor")[1]
        session.commit()
    client = TestClient(create_app())
    path = f"/api/v1/cases/{case_id}/package"
    assert client.get(path).status_code == 401
    as_analyst = {"Authorization": f"Bearer {analyst}"}
    as_supervisor = {"Authorization": f"Bearer {supervisor}"}
    assert client.get(path, headers=as_analyst).status_code == 403

    answer = client.get(path, headers=as_supervisor)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/zip"
    assert answer.headers["content-disposition"].startswith("attachment;")
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.headers["x-package-sha256"] == sha(answer.content)
    with zipfile.ZipFile(io.BytesIO(answer.content)) as archive:
        assert "SHA256SUMS" in archive.namelist()
    again = client.get(path, headers=as_supervisor)
    assert again.content == answer.content

    refused = client.get(f"/api/v1/cases/{undecided}/package", headers=as_supervisor)
    assert refused.status_code == 409 and "not decided" in refused.json()["detail"]
    assert client.get("/api/v1/cases/999999/package", headers=as_supervisor).status_code == 404

    partner = "/api/v1/forwarding/partner"
    assert client.get(partner, headers=as_analyst).status_code == 403
    listed = client.get(partner, params={"since": "2000-01-01T00:00:00"}, headers=as_supervisor)
    assert listed.status_code == 200
    assert [r["reference"] for r in listed.json()["records"]] == [case_id]
    assert CONTACT not in listed.text and COMMENT not in listed.text
    later = client.get(partner, params={"since": "2999-01-01"}, headers=as_supervisor)
    assert later.json() == {"records": [], "count": 0}
    assert client.get(partner, params={"since": "soon"}, headers=as_supervisor).status_code == 422
    asked = client.get(partner, params={"case": undecided}, headers=as_supervisor)
    assert asked.status_code == 409
