"""An analyst's shift in a real browser: sign in, claim, reveal one picture, decide with the
keyboard, land on the next case. Chromium (Playwright) against the running app; a form posted
without its CSRF token is refused, and another analyst's case cannot be decided."""

from __future__ import annotations

import io
import itertools
from collections.abc import Iterator

import httpx
import pytest
import sqlalchemy as sa
from PIL import Image, ImageDraw
from playwright.sync_api import Page, sync_playwright

from crawler.browser import find_chromium
from crawler.evidence import EvidenceStore
from tests.stack import Stack
from triage_api.models import AuditEntry, Capture, Case, Decision, Report

pytestmark = pytest.mark.integration


def _picture() -> bytes:
    image = Image.new("RGB", (640, 400), (40, 90, 160))
    ImageDraw.Draw(image).ellipse((200, 100, 440, 300), fill=(230, 180, 40))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    running = Stack(tmp_path_factory.mktemp("review-ui"), host_map={}).start()
    try:
        yield running
    finally:
        running.stop()


_BATCHES = itertools.count(1)


@pytest.fixture
def cases(stack: Stack) -> list[int]:
    """Three new ready cases, best first and above any earlier test's; the best has a screenshot
    in the evidence store."""
    batch = next(_BATCHES)
    screenshot = EvidenceStore(stack.data_dir / "evidence").put(_picture())
    engine = sa.create_engine(stack.db_url)
    ids = []
    with engine.begin() as connection:
        for rank in (batch * 1000 + 30.0, batch * 1000 + 20.0, batch * 1000 + 10.0):
            url = f"http://shop-{int(rank)}.kz/"
            ids.append(
                connection.execute(
                    sa.insert(Case)
                    .values(
                        canonical_url=url,
                        host=url[7:-1],
                        open_key=url,
                        stage="ready",
                        band=2,
                        rank_key=rank,
                        base_points=rank,
                        reasons=[{"text": "reported as drugs", "points": rank}],
                        claimed_category="drugs",
                    )
                    .returning(Case.id)
                ).scalar_one()
            )
        capture = connection.execute(
            sa.insert(Capture)
            .values(
                case_id=ids[0],
                requested_url=f"http://shop-{batch * 1000 + 30}.kz/",
                final_url=f"http://shop-{batch * 1000 + 30}.kz/",
                http_status=200,
                title="shop",
                redirect_chain=[],
                screenshot_sha256=screenshot,
                outcome="ok",
            )
            .returning(Capture.id)
        ).scalar_one()
        connection.execute(sa.update(Case).where(Case.id == ids[0]).values(last_capture_id=capture))
        connection.execute(
            sa.insert(Report).values(
                tracking_code=f"ui-{batch}-{ids[1]}",
                case_id=ids[1],
                submitted_url=f"http://shop-{batch * 1000 + 20}.kz/",
                canonical_url=f"http://shop-{batch * 1000 + 20}.kz/",
                comment="a reporter's private words",
                contact="reporter@example.kz",
            )
        )
    engine.dispose()
    return ids


PASSWORD = "steppe wind at dawn"


def reporter_codes(stack: Stack, case_id: int) -> list[str]:
    engine = sa.create_engine(stack.db_url)
    with engine.connect() as connection:
        codes = connection.execute(
            sa.select(Report.tracking_code).where(Report.case_id == case_id)
        ).scalars()
        found = list(codes)
    engine.dispose()
    return found


def _sign_in(page: Page, stack: Stack, name: str) -> None:
    seen: list[str] = []
    page.on("response", lambda r: seen.append(f"{r.request.method} {r.url} {r.status}"))
    page.on("requestfailed", lambda r: seen.append(f"FAILED {r.method} {r.url} {r.failure}"))
    page.goto(f"{stack.base}/ui/login")
    page.fill("#password-login input[name=name]", name)
    page.fill("#password-login input[name=password]", PASSWORD)
    page.click("#password-login button[type=submit]")
    try:
        page.wait_for_url("**/ui/queue", timeout=15_000)
    except Exception as exc:  # say what the browser shows instead
        raise AssertionError(f"sign-in ended at {page.url} after {seen}") from exc


def test_an_analysts_shift_in_the_browser(stack: Stack, cases: list[int]) -> None:
    stack.add_user("aigerim", "analyst")
    stack.cli("user", "password", "aigerim", stdin=PASSWORD + "\n")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=find_chromium(), headless=True)
        try:
            page = browser.new_page()
            _sign_in(page, stack, "aigerim")
            page.keyboard.press("c")  # claim next
            page.wait_for_url(f"**/ui/cases/{cases[0]}")
            image = page.locator("figure.evidence img")
            assert image.get_attribute("class") == "blurred"
            assert "grayscale" in image.evaluate("i => getComputedStyle(i).filter")
            assert page.locator("#exposure b").inner_text() == "0"
            with page.expect_response(lambda r: "view=full" in r.url) as full:
                image.click()
            assert full.value.status == 200 and full.value.headers["content-type"] == "image/png"
            assert image.get_attribute("class") == "revealed"
            assert page.locator("#exposure b").inner_text() == "1"
            page.mouse.move(0, 0)  # leaving the picture blurs it again
            assert image.get_attribute("class") == "blurred"
            assert "view=full" not in (image.get_attribute("src") or "")
            page.keyboard.press("n")  # not illegal → next case
            page.wait_for_url(f"**/ui/cases/{cases[1]}")
            assert page.locator("#decide").is_visible()
            page.keyboard.press("i")  # illegal, category preselected from the report
            page.wait_for_url(f"**/ui/cases/{cases[2]}")
            page.keyboard.press("r")  # give the last one back
            page.wait_for_url("**/ui/queue")
            for supervisors_only in ("/ui/supervisor", "/ui/stats", "/ui/takedowns"):
                answer = page.goto(f"{stack.base}{supervisors_only}")
                assert answer is not None and answer.status == 403
            # The reporter of the case decided illegal checks its status in Kazakh.
            reporter = browser.new_page()
            code = next(iter(reporter_codes(stack, cases[1])))
            reporter.goto(f"{stack.base}/status/{code}?lang=kk")
            state = reporter.locator("p.state").inner_text()
            assert state.startswith("Расталды"), state
            shown = reporter.content()
            assert "aigerim" not in shown and "private words" not in shown
            assert "reporter@example.kz" not in shown and "shop-" not in shown
        finally:
            browser.close()
    engine = sa.create_engine(stack.db_url)
    with engine.connect() as connection:
        decided = connection.execute(
            sa.select(Decision.case_id, Decision.outcome, Decision.category).order_by(Decision.id)
        ).all()
        actions = connection.execute(sa.select(AuditEntry.action)).scalars().all()
        released = connection.execute(
            sa.select(Case.claimed_by).where(Case.id == cases[2])
        ).scalar_one()
    engine.dispose()
    assert [tuple(d) for d in decided] == [
        (cases[0], "not_illegal", None),
        (cases[1], "illegal", "drugs"),
    ]
    assert released is None
    for action in (
        "ui.login",
        "case.claimed",
        "case.viewed",
        "evidence.revealed",
        "case.decided",
        "case.released",
    ):
        assert action in actions


def test_forms_without_their_token_are_refused(stack: Stack, cases: list[int]) -> None:
    token = stack.add_user("daniyar", "analyst")
    with httpx.Client(base_url=stack.base) as client:
        client.get("/ui/login")  # the CSRF cookie
        assert client.post("/ui/login", data={"token": token}).status_code == 403
        signed = client.post(
            "/ui/login", data={"token": token, "csrf": client.cookies["hotline_csrf"]}
        )
        assert signed.status_code == 303
        assert client.post("/ui/claim", data={}).status_code == 403
        # The API accepts the session cookie only with the token in a header.
        assert client.post("/api/v1/queue/claim").status_code == 403
        ok = client.post(
            "/api/v1/queue/claim", headers={"X-CSRF-Token": client.cookies["hotline_csrf"]}
        )
        assert ok.status_code == 200


def test_another_analysts_case_cannot_be_decided(stack: Stack, cases: list[int]) -> None:
    first = stack.add_user("saule", "analyst")
    second = stack.add_user("timur", "analyst")
    held = httpx.post(
        f"{stack.base}/api/v1/queue/claim", headers={"Authorization": f"Bearer {first}"}
    ).json()["claim"]
    assert held is not None
    with httpx.Client(base_url=stack.base) as client:
        client.get("/ui/login")
        csrf = client.cookies["hotline_csrf"]
        client.post("/ui/login", data={"token": second, "csrf": csrf})
        page = client.get(f"/ui/cases/{held['case_id']}")
        assert "Claim this case from the queue" in page.text and 'id="decide"' not in page.text
        refused = client.post(
            f"/ui/cases/{held['case_id']}/decision", data={"outcome": "not_illegal", "csrf": csrf}
        )
        assert refused.status_code == 409 and "Claim the case" in refused.text
        missing = client.post(
            "/ui/cases/999999/decision", data={"outcome": "not_illegal", "csrf": csrf}
        )
        assert missing.status_code == 404


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
