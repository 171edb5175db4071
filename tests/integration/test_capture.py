"""The capture in a real Chromium against the sandbox web: evidence, limits, failures recorded."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator

from crawler.capture import CaptureLimits, capture_url
from crawler.capture_dir import write_capture_dir
from crawler.evidence import EvidenceError, EvidenceStore
from crawler.sandbox import SandboxWeb

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def web() -> Iterator[SandboxWeb]:
    with SandboxWeb() as sandbox:
        yield sandbox


def _capture(web: SandboxWeb, url: str, **limits: float) -> object:
    return capture_url(
        url, host_map=web.host_map, host_map_only=True, limits=CaptureLimits(**limits)
    )  # type: ignore[arg-type]


def test_capture_keeps_page_screenshot_images_and_redirects(web: SandboxWeb) -> None:
    result = _capture(web, "http://kitap-alemi.kz/old-page")
    assert result.outcome == "ok" and result.error is None
    assert result.http_status == 200
    assert result.final_url == "http://kitap-alemi.kz/"
    assert [hop["status"] for hop in result.redirect_chain] == [302, 200]
    assert result.redirect_chain[0]["location"] == "/"
    assert "Кітап әлемі" in result.title and "Абай" in result.text
    assert "<h1>Кітап әлемі</h1>" in result.html
    assert result.screenshot.startswith(b"\x89PNG")
    assert [Path(i.url).name for i in result.images] == ["books.png"]
    assert result.server_ip == "127.0.0.1"
    assert result.browser_version.startswith("Chromium ")


def test_error_pages_and_unknown_hosts_are_recorded_not_raised(web: SandboxWeb) -> None:
    gone = _capture(web, "http://zhabyq-sait.kz/")
    assert gone.outcome == "ok" and gone.http_status == 404
    missing = _capture(web, "http://no-such-host.kz/")
    assert missing.outcome == "network_error"
    assert "ERR_NAME_NOT_RESOLVED" in missing.error
    assert missing.should_retry is False


def test_a_page_that_never_answers_ends_within_its_limit(web: SandboxWeb) -> None:
    started = time.monotonic()
    result = _capture(web, "http://slow.kz/hold/never?s=60", timeout_s=6)
    elapsed = time.monotonic() - started
    assert result.outcome == "timeout" and result.should_retry
    assert elapsed < 6 + 10  # the wall-clock limit plus browser start and teardown


def test_image_limits_are_applied_and_reported(web: SandboxWeb) -> None:
    result = _capture(web, "http://ortaq-forum.kz/", max_images=1)
    assert len(result.images) == 1
    assert any(s["reason"] == "image count limit" for s in result.skipped_images)
    small = _capture(web, "http://ortaq-forum.kz/", max_image_bytes=100)
    assert small.images == [] and len(small.skipped_images) == 2


def test_capture_directory_has_manifest_with_artefact_hashes(
    web: SandboxWeb, tmp_path: Path
) -> None:
    result = _capture(web, "http://zhasyl-bazar.kz/")
    artefacts = write_capture_dir(result, tmp_path)
    manifest = json.loads((tmp_path / "capture.json").read_text())
    assert manifest["artefacts"] == artefacts
    for name, sha256 in artefacts.items():
        assert hashlib.sha256((tmp_path / name).read_bytes()).hexdigest() == sha256
    assert {"screenshot.png", "page.html", "page.txt", "capture.warc.gz"} <= set(artefacts)
    assert len(list((tmp_path / "images").iterdir())) == 2
    assert manifest["egress_policy"]["pinned_hosts_only"] is True
    assert {e["decision"] for e in manifest["egress"]} == {"allowed"}
    logged = {entry["url"]: entry for entry in manifest["requests"]}
    page = logged["http://zhasyl-bazar.kz/"]
    assert page["status"] == 200 and page["type"] == "document" and page["sha256"]


def test_the_warc_holds_every_request_and_response(web: SandboxWeb, tmp_path: Path) -> None:
    result = _capture(web, "http://kitap-alemi.kz/old-page")
    write_capture_dir(result, tmp_path)
    records = []
    with (tmp_path / "capture.warc.gz").open("rb") as stream:
        for record in ArchiveIterator(stream):
            body = record.content_stream().read()
            records.append(
                (record.rec_type, record.rec_headers.get_header("WARC-Target-URI"), record, body)
            )
    assert records[0][0] == "warcinfo"
    responses = {uri: (rec, body) for kind, uri, rec, body in records if kind == "response"}
    requests = {uri for kind, uri, _, _ in records if kind == "request"}
    assert set(responses) == requests
    assert {"http://kitap-alemi.kz/old-page", "http://kitap-alemi.kz/"} <= set(responses)
    moved, _ = responses["http://kitap-alemi.kz/old-page"]
    assert moved.http_headers.get_statuscode() == "302"
    page, body = responses["http://kitap-alemi.kz/"]
    assert page.http_headers.get_statuscode() == "200"
    assert "Кітап әлемі".encode() in body
    image = next(uri for uri in responses if uri.endswith("books.png"))
    assert responses[image][1] == result.images[0].data


def test_evidence_is_content_addressed_and_write_once(tmp_path: Path) -> None:
    store = EvidenceStore(tmp_path)
    first = store.put(b"synthetic evidence")
    assert store.put(b"synthetic evidence") == first
    assert store.get(first) == b"synthetic evidence"
    path = store.path(first)
    assert path.stat().st_mode & 0o222 == 0
    path.chmod(0o644)
    path.write_bytes(b"altered")
    with pytest.raises(EvidenceError, match="altered"):
        store.get(first)
    with pytest.raises(EvidenceError):
        store.path("../../etc/passwd")
