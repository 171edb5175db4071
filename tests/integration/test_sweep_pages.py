"""The sweep report pages and their API on both engines: figures, the budget bar, progress while
a sweep runs (the page reloads itself only then), the cases a sweep opened linked to their pages,
found URLs as text only, hostile text escaped, 404 for an unknown sweep, strangers refused."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from tests.evidence_cases import case_with
from tests.stack import sign_in
from triage_api import db
from triage_api.api.app import create_app
from triage_api.models import Sweep, SweepFind, utcnow
from triage_api.security import add_user

pytestmark = pytest.mark.integration

HOSTILE_URL = 'http://evil.kz/"><script>alert(1)</script>'
HOSTILE_REASON = "<script>alert('reason')</script> text reads as drugs (0.97)"
REFRESH = '<meta http-equiv="refresh" content="5">'


def _sweeps() -> tuple[int, int, int, int]:
    """A finished sweep with two finds, then a running one; (finished, running, case, case)."""
    first = case_with([], "http://shop-one.kz/")
    second = case_with([], "http://shop-two.kz/")
    now = utcnow()
    with db.session_scope() as session:
        finished = Sweep(
            status="finished",
            trigger="manual",
            seeds=[
                {"url": "http://shop-one.kz/", "kind": "confirmed", "case_id": first},
                {"url": "http://seed.kz/<b>x</b>", "reason": "<script>seed</script>"},
            ],
            options={"budget": {"max_pages": 100, "max_depth": 3}, "politeness": {"delay": 1.5}},
            pages=120,
            pictures=33,
            hosts=7,
            new_cases=2,
            matches=1,
            errors=4,
            stats={
                "finish_reason": "closespider_pagecount",
                "skipped": {"robots": 4, "out_of_scope": 9},
                "egress_refused": 2,
                "already_cases": 5,
                "responses": 130,
            },
            started_at=now - timedelta(hours=2),
            finished_at=now - timedelta(hours=1, minutes=15),
            heartbeat_at=now - timedelta(hours=1, minutes=15),
        )
        session.add(finished)
        session.flush()
        session.add_all(
            [
                SweepFind(
                    sweep_id=finished.id,
                    case_id=first,
                    url="http://mirror-one.kz/shop",
                    category="drugs",
                    reason="a picture matches hotline-confirmed-drugs (pdq 12)",
                ),
                SweepFind(
                    sweep_id=finished.id,
                    case_id=second,
                    url=HOSTILE_URL,
                    category=None,
                    reason=HOSTILE_REASON,
                ),
            ]
        )
        running = Sweep(
            status="running",
            trigger="schedule",
            seeds=[],
            options={"budget": {"max_pages": 200}},
            pages=40,
            hosts=3,
            stats={"pending": 17, "processes": 3},
            started_at=now - timedelta(seconds=90),
            heartbeat_at=now - timedelta(seconds=12),
        )
        session.add(running)
        session.flush()
        return finished.id, running.id, first, second


def _tokens() -> tuple[str, str]:
    with db.session_scope() as session:
        _, analyst = add_user(session, name="aigerim", role="analyst")
        _, supervisor = add_user(session, name="boss", role="supervisor")
    return analyst, supervisor


def _body(html: str) -> str:
    return html.split("</header>", 1)[1]


def test_strangers_are_refused(database: str) -> None:
    finished, _, _, _ = _sweeps()
    client = TestClient(create_app())
    for path in ("/ui/sweeps", f"/ui/sweeps/{finished}"):
        answer = client.get(path, follow_redirects=False)
        assert (answer.status_code, answer.headers["location"]) == (303, "/ui/login")
    for path in ("/api/v1/sweeps", f"/api/v1/sweeps/{finished}"):
        assert client.get(path).status_code == 401
        bad = client.get(path, headers={"Authorization": "Bearer not-a-token"})
        assert bad.status_code == 401


def test_list_and_report_pages(database: str) -> None:
    finished, running, first, second = _sweeps()
    analyst, supervisor = _tokens()
    client = TestClient(create_app())
    sign_in(client, analyst)

    queue = client.get("/ui/queue")
    assert '<a href="/ui/sweeps">Sweeps</a>' in queue.text

    listed = client.get("/ui/sweeps")
    assert listed.status_code == 200
    assert REFRESH in listed.text  # a sweep is running
    rows = _body(listed.text)
    assert rows.index(f'href="/ui/sweeps/{running}"') < rows.index(f'href="/ui/sweeps/{finished}"')
    assert '<progress class="budget" value="40" max="200"' in rows and "40 / 200" in rows
    assert '<progress class="budget" value="120" max="100"' in rows and "120 / 100" in rows
    assert "schedule" in rows and "manual" in rows
    assert "1 min 30 s" in rows or "1 min 31 s" in rows  # the running one, so far
    assert "45 min 00 s" in rows  # the finished one

    live = client.get(f"/ui/sweeps/{running}")
    assert live.status_code == 200 and REFRESH in live.text
    page = _body(live.text)
    assert re.search(r"1[2-5] s ago", page), page
    assert "Pending requests</dt><dd>17" in page and "Processes at work</dt><dd>3" in page
    assert "No case opened yet." in page

    done = client.get(f"/ui/sweeps/{finished}")
    assert done.status_code == 200 and REFRESH not in done.text
    assert 'http-equiv="refresh"' not in done.text
    page = _body(done.text)
    for figure in (
        "Pages fetched</dt><dd>120",
        "Pictures</dt><dd>33",
        "Hosts</dt><dd>7",
        "New cases</dt><dd>2",
        "Matches</dt><dd>1",
        "Errors</dt><dd>4",
        "closespider_pagecount",
        "Refused by the egress policy</dt><dd>2",
        "Already cases</dt><dd>5",
    ):
        assert figure in page, figure
    assert "Pending requests" not in page and "Processes at work" not in page
    assert "Last progress" not in page  # only while it runs
    assert page.index("out_of_scope") < page.index("robots")  # most skipped first
    assert "<code>max_pages=100</code>" in page and "<code>delay=1.5</code>" in page
    assert f'href="/ui/cases/{first}"' in page and f'href="/ui/cases/{second}"' in page
    assert "hotline-confirmed-drugs (pdq 12)" in page and "<td>drugs</td>" in page
    assert "<code>http://mirror-one.kz/shop</code>" in page
    assert "confirmed" in page  # the first seed's reason, from its kind
    # Found URLs are text, never links out; hostile text is escaped, not run.
    assert 'href="http' not in page and "<script" not in page and "<b>x</b>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&lt;script&gt;alert(&#39;reason&#39;)&lt;/script&gt;" in page
    assert "&lt;script&gt;seed&lt;/script&gt;" in page
    assert "<img" not in page  # no media on these pages

    assert client.get("/ui/sweeps/999999").status_code == 404

    boss = TestClient(create_app())
    sign_in(boss, supervisor)
    assert boss.get(f"/ui/sweeps/{finished}").status_code == 200

    with db.session_scope() as session:
        session.execute(
            sa.update(Sweep)
            .where(Sweep.id == running)
            .values(status="stopped", finished_at=utcnow())
        )
    assert REFRESH not in client.get("/ui/sweeps").text
    assert REFRESH not in client.get(f"/ui/sweeps/{running}").text


def test_stale_heartbeat_is_flagged(database: str) -> None:
    _, running, _, _ = _sweeps()
    analyst, _ = _tokens()
    with db.session_scope() as session:
        session.execute(
            sa.update(Sweep)
            .where(Sweep.id == running)
            .values(heartbeat_at=utcnow() - timedelta(minutes=20))
        )
    client = TestClient(create_app())
    sign_in(client, analyst)
    page = _body(client.get(f"/ui/sweeps/{running}").text)
    assert re.search(r'<dd class="warn">20 min 0\d s ago', page), page


def test_api_answers_the_same(database: str) -> None:
    finished, running, first, second = _sweeps()
    analyst, _ = _tokens()
    client = TestClient(create_app())
    api = {"Authorization": f"Bearer {analyst}"}

    listed = client.get("/api/v1/sweeps", headers=api)
    assert listed.status_code == 200
    items = listed.json()["items"]
    assert [s["id"] for s in items] == [running, finished]
    live, done = items
    assert live["status"] == "running" and live["trigger"] == "schedule"
    assert (live["pages"], live["max_pages"], live["progress"]) == (40, 200, 0.2)
    assert (live["pending"], live["processes"]) == (17, 3)
    assert 12 <= live["heartbeat_age_s"] <= 15 and live["stale"] is False
    assert done["progress"] == 1.0 and done["duration_s"] == 45 * 60
    assert done["pending"] is None and "finds" not in done

    one = client.get("/api/v1/sweeps", params={"limit": 1}, headers=api).json()
    assert [s["id"] for s in one["items"]] == [running]
    for limit in (0, 201):
        assert client.get("/api/v1/sweeps", params={"limit": limit}, headers=api).status_code == 422

    detail = client.get(f"/api/v1/sweeps/{finished}", headers=api).json()
    assert detail["finds_total"] == 2
    assert [(f["case_id"], f["url"], f["category"], f["reason"]) for f in detail["finds"]] == [
        (
            first,
            "http://mirror-one.kz/shop",
            "drugs",
            "a picture matches hotline-confirmed-drugs (pdq 12)",
        ),
        (second, HOSTILE_URL, None, HOSTILE_REASON),
    ]
    assert detail["skipped"] == [["out_of_scope", 9], ["robots", 4]]
    assert detail["finish_reason"] == "closespider_pagecount"
    assert detail["seeds"][0] == {
        "url": "http://shop-one.kz/",
        "kind": "confirmed",
        "case_id": first,
        "reason": "confirmed",
    }
    assert detail["options"]["budget"]["max_pages"] == 100
    assert client.get("/api/v1/sweeps/999999", headers=api).status_code == 404


def test_a_supervisor_stops_a_running_sweep_from_its_page(database: str) -> None:
    finished, running, _, _ = _sweeps()
    analyst, supervisor = _tokens()
    reader = TestClient(create_app())
    sign_in(reader, analyst)
    assert 'action="/ui/sweeps/' not in reader.get(f"/ui/sweeps/{running}").text
    refused = reader.post(
        f"/ui/sweeps/{running}/stop",
        data={"csrf": reader.cookies["hotline_csrf"]},
        follow_redirects=False,
    )
    assert refused.status_code == 403

    boss = TestClient(create_app())
    sign_in(boss, supervisor)
    page = boss.get(f"/ui/sweeps/{running}").text
    assert f'action="/ui/sweeps/{running}/stop"' in page
    assert 'action="/ui/sweeps/' not in boss.get(f"/ui/sweeps/{finished}").text
    forged = boss.post(f"/ui/sweeps/{running}/stop", data={"csrf": "x"}, follow_redirects=False)
    assert forged.status_code == 403
    stopped = boss.post(
        f"/ui/sweeps/{running}/stop",
        data={"csrf": boss.cookies["hotline_csrf"]},
        follow_redirects=False,
    )
    assert (stopped.status_code, stopped.headers["location"]) == (303, f"/ui/sweeps/{running}")
    page = _body(boss.get(f"/ui/sweeps/{running}").text)
    assert (
        "sweep-stopping" in page
        and "user:boss" in page
        and REFRESH in boss.get(f"/ui/sweeps/{running}").text
    )  # still reloading: its processes are leaving
    assert 'action="/ui/sweeps/' not in page
    with db.session_scope() as session:
        row = session.get(Sweep, running)
        assert row is not None and row.status == "stopping" and row.finished_at is None
        assert row.stats["stop_asked_by"] == "user:boss" and row.stats["pending"] == 17
    again = boss.post(
        f"/ui/sweeps/{finished}/stop",
        data={"csrf": boss.cookies["hotline_csrf"]},
        follow_redirects=False,
    )
    assert again.status_code == 409


def test_the_api_stops_a_sweep_and_says_what_it_cannot_stop(database: str) -> None:
    finished, running, _, _ = _sweeps()
    analyst, supervisor = _tokens()
    client = TestClient(create_app())
    boss = {"Authorization": f"Bearer {supervisor}"}
    reader = {"Authorization": f"Bearer {analyst}"}
    assert client.post(f"/api/v1/sweeps/{running}/stop", headers=reader).status_code == 403
    asked = client.post(f"/api/v1/sweeps/{running}/stop", headers=boss)
    assert asked.json() == {"id": running, "status": "stopping"}
    twice = client.post(f"/api/v1/sweeps/{running}/stop", headers=boss)
    assert twice.json() == {"id": running, "status": "stopping"}  # asking again changes nothing
    ended = client.post(f"/api/v1/sweeps/{finished}/stop", headers=boss)
    assert ended.status_code == 409 and "finished" in ended.json()["detail"]
    assert client.post("/api/v1/sweeps/999999/stop", headers=boss).status_code == 404
    with db.session_scope() as session:
        lost = Sweep(
            status="running",
            seeds=[],
            started_at=utcnow() - timedelta(hours=3),
            heartbeat_at=utcnow() - timedelta(hours=1),
        )
        session.add(lost)
        session.flush()
        lost_id = lost.id
    # No process is left to see the request: the sweep is stopped at once.
    answer = client.post(f"/api/v1/sweeps/{lost_id}/stop", headers=boss)
    assert answer.json() == {"id": lost_id, "status": "stopped"}
    with db.session_scope() as session:
        actions = session.scalars(
            sa.text("SELECT subject FROM audit_log WHERE action = 'sweep.stop' ORDER BY id")
        ).all()
    assert actions == [f"sweep:{running}", f"sweep:{lost_id}"]
