"""Report → capture → hash → score → queue, with a real API, Celery worker and Chromium.

Runs once with the embedded engines (SQLite, filesystem broker) and once with PostgreSQL + Redis.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest
import sqlalchemy as sa

from classifiers.hashing import digests, hash_media
from crawler import sandbox_sites
from crawler.sandbox import SandboxWeb
from tests.stack import Stack, sign_in, wait_until

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxWeb]:
    with SandboxWeb() as web:
        yield web


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def stack(
    request: pytest.FixtureRequest, sandbox: SandboxWeb, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    data_dir = tmp_path_factory.mktemp(f"stack-{request.param}")
    database = None
    if request.param == "postgres":
        admin = request.getfixturevalue("pg_server")
        redis_url = request.getfixturevalue("redis_server")
        database = f"hl_test_{secrets.token_hex(4)}"
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{database}"')
        base = admin.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
        stack = Stack(
            data_dir,
            sandbox.host_map,
            database_url=f"{base}/{database}",
            broker_url=redis_url,
            rate_limit_url=redis_url,
        )
    else:
        stack = Stack(data_dir, sandbox.host_map)
    try:
        stack.start()
        yield stack
    except BaseException:
        print(stack.logs())
        raise
    finally:
        stack.stop()
        if database:
            with psycopg.connect(
                request.getfixturevalue("pg_server"), autocommit=True
            ) as connection:
                connection.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


@pytest.fixture(scope="module")
def analyst(stack: Stack) -> str:
    return stack.add_user(f"analyst-{secrets.token_hex(3)}", "analyst")


def _known_list(stack: Stack, tmp: Path) -> None:
    sha256, md5, _ = digests(sandbox_sites.image_bytes(sandbox_sites.KNOWN_IMAGE))
    listing = tmp / "known.csv"
    listing.write_text(f"hash_type,hash\nsha256,{sha256}\nmd5,{md5.upper()}\n")
    stack.cli(
        "hashlist", "import", str(listing), "--list", "partner-list", "--category", "extremism"
    )


def test_reports_become_a_ranked_queue_from_real_captures(
    stack: Stack, analyst: str, tmp_path: Path
) -> None:
    _known_list(stack, tmp_path)
    receipts = []
    for number, (url, category) in enumerate(sandbox_sites.SAMPLE_REPORTS):
        answer = stack.report(url, category, client=f"203.0.113.{number}")
        assert answer.status_code == 201, answer.text
        receipts.append(answer.json())
    assert all(r["status"] == "received" for r in receipts)
    assert len({r["tracking_code"] for r in receipts}) == len(receipts)
    stack.wait_ready()

    headers = {"Authorization": f"Bearer {analyst}"}
    queue = httpx.get(f"{stack.base}/api/v1/queue", headers=headers, timeout=30).json()["items"]
    urls = [item["url"] for item in queue]
    assert len(urls) == len(set(urls)) == len(sandbox_sites.SAMPLE_REPORTS) - 1
    top = queue[0]
    assert top["url"] == "http://ortaq-forum.kz/"
    assert top["band"] == "confirmed-likely"
    assert any("partner-list" in r["text"] for r in top["reasons"])
    points = [item["points"] for item in queue if item["band"] == queue[1]["band"]]
    assert points == sorted(points, reverse=True)
    assert queue[-1]["band"] == "unlikely"

    joined = next(item for item in queue if item["url"] == "http://tez-kladka.kz/")
    assert joined["reports"] == 2

    case = httpx.get(
        f"{stack.base}/api/v1/cases/{top['case_id']}", headers=headers, timeout=30
    ).json()
    capture = case["capture"]
    assert capture["outcome"] == "ok" and capture["http_status"] == 200
    assert capture["title"].startswith("Ortaq forum")
    assert len(capture["media"]) == 2 and all(m["phash"] for m in capture["media"])
    assert {m["list"] for m in case["matches"]} == {"partner-list"}
    assert case["jurisdiction"] == "kaznet"
    site = capture["enrichment"]
    assert site["registrable_domain"] == "ortaq-forum.kz" and ".kz" in site["jurisdiction_reason"]
    assert any("Kaznet" in r["text"] for r in top["reasons"])
    evidence = f"{stack.base}/api/v1/evidence/{capture['screenshot_sha256']}"
    blurred = httpx.get(evidence, headers=headers)  # pictures come blurred unless revealed
    assert blurred.status_code == 200 and blurred.headers["x-content-type-options"] == "nosniff"
    assert blurred.headers["content-type"] == "image/jpeg"
    assert httpx.get(f"{evidence}?view=full", headers=headers).status_code == 403
    wrong = httpx.post(f"{evidence}/reveal", headers=headers, json={"case_id": 10**9})
    assert wrong.status_code == 422
    seen = httpx.post(f"{evidence}/reveal", headers=headers, json={"case_id": top["case_id"]})
    assert seen.status_code == 200 and seen.json()["revealed_today"] >= 1
    shot = httpx.get(f"{evidence}?view=full", headers=headers)
    assert hashlib.sha256(shot.content).hexdigest() == capture["screenshot_sha256"]
    assert shot.content.startswith(b"\x89PNG")

    redirected = next(item for item in queue if item["url"] == "http://qysqa.kz/go")
    detail = httpx.get(f"{stack.base}/api/v1/cases/{redirected['case_id']}", headers=headers).json()
    assert [hop["status"] for hop in detail["capture"]["redirect_chain"]] == [302, 200]
    assert detail["capture"]["final_url"] == "http://tez-kladka.kz/"

    public = httpx.get(f"{stack.base}/api/v1/reports/{receipts[0]['tracking_code']}").json()
    assert set(public) == {
        "tracking_code",
        "status",
        "received_at",
        "outcome",
        "decided_at",
        "notice_sent_at",
        "removed_at",
    }
    assert public["status"] == "under_review" and public["outcome"] is None


def test_near_copies_of_listed_material_jump_to_the_top_with_the_list_named(
    stack: Stack, analyst: str, tmp_path: Path
) -> None:
    """Only perceptual hashes are listed: the halved, bordered and mirrored copies are found."""
    known = hash_media(sandbox_sites.image_bytes(sandbox_sites.KNOWN_IMAGE))
    listing = tmp_path / "perceptual.csv"
    listing.write_text(f"hash_type,hash\npdq,{known.pdq}\nphash,{known.phash}\n")
    stack.cli("hashlist", "import", str(listing), "--list", "iwf-like", "--category", "extremism")
    answer = stack.report("http://ortaq-zhana.kz/", None, client="192.0.2.77")
    assert answer.status_code == 201
    stack.wait_ready()
    headers = {"Authorization": f"Bearer {analyst}"}
    queue = httpx.get(f"{stack.base}/api/v1/queue", headers=headers, timeout=30).json()["items"]
    item = next(i for i in queue if i["url"] == "http://ortaq-zhana.kz/")
    assert item["band"] == "confirmed-likely"
    assert all(i["band"] == "confirmed-likely" for i in queue[: queue.index(item)])
    reason = next(r for r in item["reasons"] if r["code"] == "known_match")
    assert "iwf-like" in reason["text"] and "distance" in reason["text"]
    case = httpx.get(f"{stack.base}/api/v1/cases/{item['case_id']}", headers=headers).json()
    matched = {m["media_sha256"] for m in case["matches"] if m["list"] == "iwf-like"}
    assert len(matched) == len(sandbox_sites.NEAR_COPIES)  # every near copy, none missed


def test_models_score_pages_nobody_categorised_and_explain_why(stack: Stack, analyst: str) -> None:
    """A death-group page reported without a category rises by its text; a price list drawn in
    a picture is read by OCR (when Tesseract is installed); every score names model and version."""
    for url in ("http://aq-tolqyn.kz/", "http://arzan-bazar.kz/", "http://kitap-alemi.kz/"):
        assert stack.report(url, None, client="192.0.2.90").status_code == 201
    stack.wait_ready()
    headers = {"Authorization": f"Bearer {analyst}"}
    queue = httpx.get(f"{stack.base}/api/v1/queue", headers=headers, timeout=30).json()["items"]
    by_url = {item["url"]: item for item in queue}

    def case(url: str) -> dict:
        item = by_url[url]
        return httpx.get(f"{stack.base}/api/v1/cases/{item['case_id']}", headers=headers).json()

    group = by_url["http://aq-tolqyn.kz/"]
    assert group["band"] in ("likely", "possible") and group["category"] == "suicide"
    reason = next(r for r in group["reasons"] if r["code"] == "classifier")
    assert "suicide" in reason["text"]
    books = by_url["http://kitap-alemi.kz/"]
    assert books["band"] == "unlikely" and queue.index(books) > queue.index(group)

    rows = {row["model"]: row for row in case("http://aq-tolqyn.kz/")["classifications"]}
    text = rows["hotline-text"]
    assert text["label"] == "suicide" and text["version"] and text["version"] != "-"
    assert text["explanation"]["terms"] and abs(sum(text["scores"].values()) - 1) < 1e-3
    assert "csam" not in text["scores"]
    nudity = rows["nudenet-320n"]
    assert nudity["label"] == "benign" and nudity["scores"]["nudity"] < 0.5  # drawn waves
    assert len(nudity["explanation"]["media"]) == 1

    drawn = {row["model"]: row for row in case("http://arzan-bazar.kz/")["classifications"]}
    ocr = drawn["hotline-text+ocr"]
    if ocr["label"] == "unavailable":
        assert "tesseract" in ocr["explanation"]["unavailable"]
    else:
        assert ocr["label"] == "drugs" and ocr["explanation"]["ocr_sources"] == 2
        assert by_url["http://arzan-bazar.kz/"]["category"] == "drugs"
        stored = httpx.get(
            f"{stack.base}/api/v1/evidence/{ocr['explanation']['ocr_text_sha256']}",
            headers=headers,
        )
        assert "мефедрон" in stored.content.decode().casefold()

    with httpx.Client(base_url=stack.base, timeout=30) as client:
        sign_in(client, analyst)
        page = client.get(f"/ui/cases/{group['case_id']}").text
    assert "Model scores" in page and "suicide" in page and 'class="blurred"' in page


def test_same_url_joins_the_open_case(stack: Stack) -> None:
    first = stack.report("http://kitap-alemi.kz/?joined=1", client="192.0.2.50")
    again = stack.report("HTTP://KITAP-ALEMI.KZ:80/?joined=1#top", client="192.0.2.51")
    assert first.status_code == again.status_code == 201
    with sa.create_engine(stack.db_url).connect() as connection:
        rows = connection.execute(
            sa.text(
                "SELECT r.case_id FROM reports r JOIN cases c ON c.id = r.case_id "
                "WHERE c.canonical_url = 'http://kitap-alemi.kz/?joined=1'"
            )
        ).all()
    assert len(rows) == 2 and rows[0][0] == rows[1][0]


def test_staff_endpoints_refuse_missing_wrong_and_insufficient_tokens(
    stack: Stack, analyst: str
) -> None:
    assert httpx.get(f"{stack.base}/api/v1/queue").status_code == 401
    wrong = httpx.get(f"{stack.base}/api/v1/queue", headers={"Authorization": "Bearer hlt_nope"})
    assert wrong.status_code == 401
    forbidden = httpx.get(
        f"{stack.base}/api/v1/users", headers={"Authorization": f"Bearer {analyst}"}
    )
    assert forbidden.status_code == 403 and "admin" in forbidden.json()["detail"]
    admin = stack.add_user(f"admin-{secrets.token_hex(3)}", "admin")
    users = httpx.get(f"{stack.base}/api/v1/users", headers={"Authorization": f"Bearer {admin}"})
    assert users.status_code == 200 and any(u["role"] == "analyst" for u in users.json())


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ({"url": "javascript:alert(1)"}, "scheme"),
        ({"url": "http://10.0.0.1/"}, "not a public IP"),
        ({"url": "http://user:pw@site.kz/"}, "password"),
        ({"url": ""}, "empty"),
        ({"url": "http://x.kz/" + "a" * 5000}, "longer than 4096"),
        ({"url": "http://ok.kz/", "category": "nonsense"}, "unknown category"),
        ({"nourl": "x"}, "url: Field required"),
        ({"url": 42}, "url"),
    ],
)
def test_bad_reports_get_422_naming_the_problem(
    stack: Stack, body: dict[str, object], needle: str
) -> None:
    answer = httpx.post(
        f"{stack.base}/api/v1/reports", json=body, headers={"X-Forwarded-For": "192.0.2.99"}
    )
    assert answer.status_code == 422
    assert needle in answer.json()["detail"]


def test_malformed_and_huge_bodies_are_refused_cleanly(stack: Stack) -> None:
    broken = httpx.post(
        f"{stack.base}/api/v1/reports",
        content=b"{not json",
        headers={"Content-Type": "application/json", "X-Forwarded-For": "192.0.2.98"},
    )
    assert broken.status_code == 422 and "JSON" in broken.json()["detail"]
    huge = httpx.post(
        f"{stack.base}/api/v1/reports",
        content=b"x" * 200_000,
        headers={"Content-Type": "application/json"},
    )
    assert huge.status_code == 413


def test_too_many_reports_from_one_client_get_429(stack: Stack) -> None:
    statuses = [
        stack.report(f"http://flood-{n}.kz/", client="192.0.2.200").status_code for n in range(25)
    ]
    assert statuses[:20] == [201] * 20
    assert set(statuses[20:]) == {429}
    assert stack.report("http://other-client.kz/", client="192.0.2.201").status_code == 201


def test_worker_killed_mid_capture_still_reaches_the_queue(
    stack: Stack, sandbox: SandboxWeb
) -> None:
    key = secrets.token_hex(6)
    url = f"http://slow.kz/hold/{key}"
    assert stack.report(url, "drugs", client="192.0.2.77").status_code == 201
    wait_until(lambda: ("slow.kz", f"/hold/{key}") in sandbox.hits, 90, "the capture to start")
    stack.kill_worker()
    stack.start_worker()
    with sa.create_engine(stack.db_url).connect() as connection:
        case_id = connection.execute(
            sa.text("SELECT id FROM cases WHERE canonical_url = :u"), {"u": url}
        ).scalar_one()
    stack.wait_ready({case_id}, timeout=240)
    with sa.create_engine(stack.db_url).connect() as connection:
        captures = connection.execute(
            sa.text("SELECT outcome, title FROM captures WHERE case_id = :c"), {"c": case_id}
        ).all()
    assert len(captures) == 1
    assert captures[0].outcome == "ok" and captures[0].title == "Held page"


def test_audit_log_is_append_only(stack: Stack) -> None:
    engine = sa.create_engine(stack.db_url)
    with engine.connect() as connection:
        assert connection.execute(sa.text("SELECT count(*) FROM audit_log")).scalar_one() > 0
        with pytest.raises(sa.exc.DBAPIError, match="append-only"):
            connection.execute(sa.text("UPDATE audit_log SET actor = 'someone else'"))
        connection.rollback()
        with pytest.raises(sa.exc.DBAPIError, match="append-only"):
            connection.execute(sa.text("DELETE FROM audit_log"))
    engine.dispose()


def test_ui_signs_in_with_a_token_and_shows_the_queue_blurred(stack: Stack, analyst: str) -> None:
    with httpx.Client(base_url=stack.base, timeout=30) as client:
        assert client.get("/ui/queue").headers.get("location") == "/ui/login"
        assert client.post("/ui/login", data={"token": analyst}).status_code == 403  # no CSRF
        refused = sign_in(client, "hlt_wrong")
        assert refused.status_code == 401
        signed_in = sign_in(client, analyst, follow_redirects=True)
        assert signed_in.status_code == 200 and "http://ortaq-forum.kz/" in signed_in.text
        assert "script-src 'self'" in signed_in.headers["content-security-policy"]
        case_id = httpx.get(
            f"{stack.base}/api/v1/queue", headers={"Authorization": f"Bearer {analyst}"}
        ).json()["items"][0]["case_id"]
        page = client.get(f"/ui/cases/{case_id}")
        assert page.status_code == 200
        assert "Jurisdiction" in page.text and "kaznet" in page.text
        assert "Hosting provider" in page.text and "Abuse contact" in page.text
        assert page.text.count('class="blurred"') == 3  # screenshot and both images
