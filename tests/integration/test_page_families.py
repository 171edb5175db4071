"""Mirrors of one page, reported under different addresses, end in one case family.

Real API, Celery worker and Chromium against the sandbox web, once with the embedded engines
(SQLite, filesystem broker) and once with PostgreSQL + Redis; then `link_family` directly on both
engines for merging and idempotency.
"""

from __future__ import annotations

import itertools
import json
import secrets
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from classifiers.page_print import distance
from crawler.sandbox import SandboxWeb
from tests.stack import Stack, sign_in
from triage_api.models import Base, Capture, Case, PagePrintBand
from triage_api.page_families import also_seen_at, family_of, link_family

pytestmark = pytest.mark.integration

MIRRORS = (
    "http://altyn-capital.kz/",
    "http://altyn-capital2.kz/invest",
    "http://altyn-club.com/ru/",
)
UNRELATED = "http://uyut-mebel.kz/"


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxWeb]:
    with SandboxWeb() as web:
        yield web


def _pg_url(admin: str, name: str) -> str:
    return f"{admin.rsplit('/', 1)[0].replace('postgresql://', 'postgresql+psycopg://')}/{name}"


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def stack(
    request: pytest.FixtureRequest, sandbox: SandboxWeb, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    data_dir = tmp_path_factory.mktemp(f"families-{request.param}")
    database = None
    if request.param == "postgres":
        admin = request.getfixturevalue("pg_server")
        redis_url = request.getfixturevalue("redis_server")
        database = f"hl_test_{secrets.token_hex(4)}"
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{database}"')
        stack = Stack(
            data_dir,
            sandbox.host_map,
            database_url=_pg_url(admin, database),
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
            with psycopg.connect(request.getfixturevalue("pg_server"), autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


def test_mirrors_group_into_one_family_and_the_queue_says_where_else(stack: Stack) -> None:
    case_ids = {}
    for number, url in enumerate((*MIRRORS, UNRELATED)):
        answer = stack.report(url, "fraud", client=f"203.0.113.{40 + number}")
        assert answer.status_code == 201, answer.text
    stack.wait_ready()
    assert stack.engine is not None
    with stack.engine.connect() as connection:
        rows = connection.execute(
            sa.text(
                "SELECT c.id, c.canonical_url, c.family_id, p.text_print, p.dom_print "
                "FROM cases c JOIN captures p ON p.id = c.last_capture_id"
            )
        ).all()
        bands = connection.execute(sa.text("SELECT count(*) FROM page_print_bands")).scalar_one()
    by_url = {row.canonical_url: row for row in rows}
    case_ids = {url: by_url[url].id for url in (*MIRRORS, UNRELATED)}
    for a, b in itertools.combinations((*MIRRORS, UNRELATED), 2):  # the evidence for the report
        ra, rb = by_url[a], by_url[b]
        print(f"{a} ~ {b}: text {distance(ra.text_print, rb.text_print)}", end=" ")
        print(f"dom {distance(ra.dom_print, rb.dom_print)}")
    assert all(row.text_print and row.dom_print for row in rows)
    assert bands == 4 * len(rows)
    first = min(case_ids[url] for url in MIRRORS)
    assert {by_url[url].family_id for url in MIRRORS} == {first}
    assert by_url[UNRELATED].family_id is None

    analyst = stack.add_user(f"analyst-{secrets.token_hex(3)}", "analyst")
    headers = {"Authorization": f"Bearer {analyst}"}
    queue = httpx.get(f"{stack.base}/api/v1/queue", headers=headers, timeout=30).json()["items"]
    items = {item["url"]: item for item in queue}
    for url in MIRRORS:
        seen = items[url]["also_seen_at"]
        assert {m["url"] for m in seen} == set(MIRRORS) - {url}
        assert items[url]["also_seen_more"] == 0 and items[url]["family_id"] == first
    assert items[UNRELATED]["also_seen_at"] == [] and items[UNRELATED]["family_id"] is None

    lines = [json.loads(line) for line in stack.cli("queue", "--json").stdout.splitlines()]
    mirror = next(line for line in lines if line["url"] == MIRRORS[0])
    assert {m["url"] for m in mirror["also_seen_at"]} == set(MIRRORS[1:])
    assert "also seen at http://altyn-c" in stack.cli("queue").stdout

    case = httpx.get(
        f"{stack.base}/api/v1/cases/{case_ids[MIRRORS[1]]}", headers=headers, timeout=30
    ).json()
    assert case["family"]["id"] == first
    assert [m["url"] for m in case["family"]["cases"]] == [MIRRORS[0], MIRRORS[2]]
    assert case["capture"]["text_print"] == by_url[MIRRORS[1]].text_print

    with httpx.Client(base_url=stack.base, timeout=30) as client:
        page = sign_in(client, analyst, follow_redirects=True)
        assert page.status_code == 200 and "also seen at" in page.text
        assert 'title="http://altyn-club.com/ru/"' in page.text
        detail = client.get(f"/ui/cases/{case_ids[MIRRORS[0]]}")
        assert "Same page elsewhere" in detail.text
        assert f'href="/ui/cases/{case_ids[MIRRORS[2]]}"' in detail.text
        assert detail.text.count('class="blurred"') == 2  # screenshot and the one image


# --- link_family on its own: merging families, idempotency, error pages -----------------------

ARTICLE = (
    "Зарабатывайте каждый день вместе с нашим клубом: вы вкладываете любую сумму, трейдеры "
    "приумножают её, а прибыль приходит на карту без задержек и комиссий. Пригласите друзей и "
    "получайте процент от их вкладов. Количество мест ограничено, предложение действует только "
    "до конца недели, служба поддержки отвечает круглосуточно."
)
OTHER = (
    "Городской парк у реки открылся после ремонта: новые велосипедные дорожки, детские площадки, "
    "летняя сцена для концертов и прокат лодок. Деревья высаживали волонтёры и ученики школ, а "
    "зимой на набережной зальют каток и поставят тёплые павильоны для горожан."
)
HTML = "<html><head><title>t</title></head><body>" + "<div><p>x</p></div>" * 10 + "</body></html>"


@pytest.fixture(params=["sqlite", "postgres"])
def session(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Session]:
    if request.param == "postgres":
        url = request.getfixturevalue("pg_database")
    else:
        url = f"sqlite:///{tmp_path / 'families.sqlite'}"
    engine = sa.create_engine(url)
    Base.metadata.create_all(engine)
    with Session(engine) as session:
        yield session
    engine.dispose()


def _case(session: Session, host: str, status: int = 200) -> tuple[Case, Capture]:
    case = Case(canonical_url=f"http://{host}/", host=host, open_key=f"http://{host}/")
    session.add(case)
    session.flush()
    capture = Capture(case_id=case.id, requested_url=case.canonical_url, http_status=status)
    session.add(capture)
    session.flush()
    return case, capture


def test_near_pages_join_the_first_case_and_others_stay_apart(session: Session) -> None:
    a, c, d = (_case(session, f"site-{n}.kz") for n in "acd")
    other, error = _case(session, "park.kz"), _case(session, "gone.kz", status=404)
    assert link_family(session, *a, ARTICLE, HTML) is None  # alone so far
    assert link_family(session, *other, OTHER, HTML) is None
    assert link_family(session, *error, ARTICLE, HTML) is None  # error pages get no print
    assert link_family(session, *c, ARTICLE + "\nРеклама: суши за полчаса", HTML) == a[0].id
    assert link_family(session, *d, ARTICLE.replace("каждый", "каждый-каждый"), HTML) == a[0].id
    session.commit()
    members = session.scalars(sa.select(Case.id).where(Case.family_id == a[0].id)).all()
    assert sorted(members) == [a[0].id, c[0].id, d[0].id]
    assert other[0].family_id is None and error[0].family_id is None
    assert error[1].text_print is None and a[1].text_print and a[1].dom_print

    updated = session.execute(sa.select(Case.id, Case.updated_at)).all()
    bands = session.scalar(sa.select(sa.func.count()).select_from(PagePrintBand))
    assert link_family(session, *d, ARTICLE, HTML) == a[0].id  # twice: nothing changes
    session.commit()
    assert session.execute(sa.select(Case.id, Case.updated_at)).all() == updated
    assert session.scalar(sa.select(sa.func.count()).select_from(PagePrintBand)) == bands

    seen = also_seen_at(session, {d[0].id: a[0].id}, shown=1)
    mirrors, more = seen[d[0].id]
    assert [m.case_id for m in mirrors] == [a[0].id] and more == len(members) - 2
    detail = family_of(session, a[0])
    assert detail is not None and a[0].id not in {m["case_id"] for m in detail["cases"]}


def test_families_that_meet_merge_to_the_smallest_id(session: Session) -> None:
    first, second, bridge = (_case(session, f"m-{n}.kz") for n in range(3))
    assert link_family(session, *first, ARTICLE, HTML) is None
    assert link_family(session, *second, OTHER, HTML) is None
    # Two families formed independently (as the ids say) ...
    third, fourth = _case(session, "m-3.kz"), _case(session, "m-4.kz")
    assert link_family(session, *third, ARTICLE, HTML) == first[0].id
    assert link_family(session, *fourth, OTHER, HTML) == second[0].id
    # ... and a case that somehow belongs to both (a re-analysed capture) merges them.
    session.execute(sa.update(Case).where(Case.id == bridge[0].id).values(family_id=second[0].id))
    session.refresh(bridge[0])
    assert link_family(session, *bridge, ARTICLE, HTML) == first[0].id
    session.commit()
    families = dict(session.execute(sa.select(Case.id, Case.family_id)).all())
    assert {families[c[0].id] for c in (first, second, third, fourth, bridge)} == {first[0].id}
