"""The Kaznet sandbox: pages by Host header, links that resolve, the case and its mirrors where the
site map says they are, robots.txt, foreign hosts, the slow host and the pictures."""

from __future__ import annotations

import hashlib
import http.client
import io
import itertools
import os
import re
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit
from urllib.robotparser import RobotFileParser

import idna
import pytest
from PIL import Image

from crawler import sandbox_kaznet as kaznet
from crawler import sandbox_sites

MIRRORS_ALL = (*kaznet.MIRRORS_IN_SCOPE, kaznet.MIRROR_BEHIND_ROBOTS, kaznet.MIRROR_FOREIGN)


@dataclass
class Fetched:
    status: int
    location: str | None
    content_type: str
    body: bytes
    links: list[str]
    images: list[str]


class _Markup(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.images: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "a" and found.get("href"):
            self.links.append(found["href"] or "")
        if tag == "img" and found.get("src"):
            self.images.append(found["src"] or "")


def fetch(web: kaznet.SandboxKaznet, url: str, *, host_header: str | None = None) -> Fetched:
    """GET `url` from the sandbox on loopback, naming the host in the Host header."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection("127.0.0.1", web.port, timeout=10)
    try:
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        connection.request("GET", target or "/", headers={"Host": host_header or parts.netloc})
        response = connection.getresponse()
        body = response.read()
        location, kind = response.getheader("Location"), response.getheader("Content-Type") or ""
    finally:
        connection.close()
    markup = _Markup()
    if kind.startswith("text/html"):
        markup.feed(body.decode("utf-8"))
    return Fetched(
        response.status,
        urljoin(url, location) if location else None,
        kind,
        body,
        [urljoin(url, link) for link in markup.links],
        [urljoin(url, src) for src in markup.images],
    )


def host_of(url: str) -> str:
    return urlsplit(url).hostname or ""


def is_loop(url: str) -> bool:
    return url.startswith(kaznet.LOOP_URL.split("?")[0] + "?page=")


@pytest.fixture(scope="module")
def web() -> Iterator[kaznet.SandboxKaznet]:
    with kaznet.SandboxKaznet(slow_s=0.02) as running:
        yield running


@pytest.fixture(scope="module")
def served(web: kaznet.SandboxKaznet) -> dict[str, Fetched]:
    """Every page of the site map, fetched once over HTTP."""
    return {url: fetch(web, url) for url in kaznet.PAGES}


def sweep(
    web: kaznet.SandboxKaznet,
    seeds: tuple[str, ...],
    *,
    max_depth: int,
    obey_robots: bool,
    kaznet_only: bool = True,
) -> dict[str, int]:
    """A tiny breadth-first crawl: {url fetched with 200: depth}."""
    robots: dict[str, RobotFileParser] = {}
    depth_of: dict[str, int] = {}
    seen, queue = set(seeds), deque((seed, 0) for seed in seeds)
    while queue:
        url, depth = queue.popleft()
        host = host_of(url)
        if obey_robots:
            if host not in robots:
                rules = fetch(web, f"http://{host}/robots.txt")
                robots[host] = RobotFileParser()
                robots[host].parse(rules.body.decode().splitlines() if rules.status == 200 else [])
            if not robots[host].can_fetch("*", url):
                continue
        page = fetch(web, url)
        onward = [page.location] if page.location else page.links
        if page.status == 200:
            depth_of[url] = depth
        for link in onward:
            if (
                depth >= max_depth
                or link in seen
                or (kaznet_only and not kaznet.in_kaznet(host_of(link)))
            ):
                continue
            if is_loop(link) and int(link.rsplit("=", 1)[1]) > 3:
                continue
            seen.add(link)
            queue.append((link, depth + 1))
    return depth_of


def test_pages_are_told_apart_by_host_header(web: kaznet.SandboxKaznet) -> None:
    portal, news = fetch(web, "http://qala-portal.kz/"), fetch(web, "http://dala-habar.kz/")
    assert portal.status == news.status == 200
    assert b"<title>Qala Portal</title>" in portal.body and b"Dala Habar" in news.body
    case = fetch(web, kaznet.CASE_URL)
    text = case.body.decode()
    assert case.status == 200 and "закладки" in text and "телеграм" in text
    assert case.images == [f"http://{kaznet.CASE_HOST}/img/{kaznet.CASE_IMAGE}"]
    assert fetch(web, "http://nowhere-else.kz/").status == 404
    idn = fetch(web, f"http://{kaznet.DARI_QAZ}/")
    assert idn.status == 200 and all(link.isascii() for link in idn.links)


def test_the_sandbox_also_answers_as_a_proxy(web: kaznet.SandboxKaznet) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", web.port, timeout=10)
    connection.request("GET", kaznet.CASE_URL)  # absolute URL, Host says 127.0.0.1
    response = connection.getresponse()
    assert response.status == 200 and "закладки" in response.read().decode()
    connection.close()


def test_host_names_are_normalized_to_punycode() -> None:
    assert kaznet.normalize_host("Dari-KZ-Shop.kz:8080") == kaznet.CASE_HOST
    assert kaznet.normalize_host("дәрі.қаз") == kaznet.DARI_QAZ
    mojibake = "дәрі.қаз".encode().decode("latin-1")  # how http.server reads a raw UTF-8 Host
    assert kaznet.normalize_host(mojibake) == kaznet.DARI_QAZ
    assert idna.decode(kaznet.DARI_QAZ) == "дәрі.қаз"


def test_the_site_map_is_big_enough_and_matches_the_hosts() -> None:
    assert kaznet.PAGE_COUNT == len(kaznet.PAGES) >= 220
    assert kaznet.KAZNET_PAGE_COUNT >= 220
    assert {host_of(url) for url in kaznet.PAGES} == set(kaznet.ALL_HOSTS)
    assert 20 <= len(kaznet.ALL_HOSTS) <= 30
    assert set(kaznet.ALL_HOSTS) == set(kaznet.KAZNET_HOSTS) | set(kaznet.FOREIGN_HOSTS)
    assert sum(host.endswith(".xn--80ao21a") for host in kaznet.KAZNET_HOSTS) >= 3
    assert {page.lang for page in kaznet.PAGES.values()} == {"ru", "kk", "en"}
    assert set(kaznet.SEED_URLS) <= set(kaznet.PAGES)


def test_every_link_leads_to_a_page_or_a_deliberate_404(
    web: kaznet.SandboxKaznet, served: dict[str, Fetched]
) -> None:
    dead_seen, redirects_seen, loop_seen = set(), set(), False
    for url, page in served.items():
        assert page.status == 200, url
        for link in page.links:
            assert host_of(link) in kaznet.ALL_HOSTS, f"{url} links outside the sandbox: {link}"
            if link in kaznet.DELIBERATE_404S:
                dead_seen.add(link)
            elif link in kaznet.REDIRECTS:
                redirects_seen.add(link)
            elif is_loop(link):
                loop_seen = True
            else:
                assert link in kaznet.PAGES, f"{url} links to {link}, not in the site map"
    assert dead_seen == kaznet.DELIBERATE_404S and len(dead_seen) >= 3
    assert redirects_seen == {kaznet.REDIRECT_CHAIN[0]} and loop_seen
    for dead in kaznet.DELIBERATE_404S:
        assert fetch(web, dead).status == 404
    pictures = {src for page in served.values() for src in page.images}
    for src in pictures:
        answer = fetch(web, src)
        assert answer.status == 200 and answer.content_type == "image/jpeg", src


def test_links_and_redirects_are_written_as_a_crawler_finds_them(
    served: dict[str, Fetched],
) -> None:
    html = served["http://qala-portal.kz/"].body.decode()
    assert 'href="/go/services"' in html and 'href="http://dala-habar.kz/"' in html
    assert any(
        host_of(link) in kaznet.FOREIGN_HOSTS for page in served.values() for link in page.links
    )


def test_the_redirect_chain_ends_on_a_page(web: kaznet.SandboxKaznet) -> None:
    url, statuses = kaznet.REDIRECT_CHAIN[0], []
    for expected in kaznet.REDIRECT_CHAIN[1:]:
        answer = fetch(web, url)
        statuses.append(answer.status)
        assert answer.location == expected
        url = expected
    assert statuses == [301, 302, 307] and fetch(web, url).status == 200


def test_the_search_page_links_to_itself_with_ever_new_queries(web: kaznet.SandboxKaznet) -> None:
    page = fetch(web, kaznet.LOOP_URL.replace("page=1", "page=41"))
    base = kaznet.LOOP_URL.split("?")[0]
    assert page.status == 200
    assert {f"{base}?page=42", f"{base}?page=41", f"{base}?page=1"} <= set(page.links)
    assert fetch(web, f"{base}?page={kaznet.LOOP_PAGES}").status == 200
    assert fetch(web, f"{base}?page={kaznet.LOOP_PAGES + 1}").status == 404


def test_each_mirror_route_is_made_of_real_links(served: dict[str, Fetched]) -> None:
    for mirror in MIRRORS_ALL:
        chain = (*mirror.route, mirror.url)
        assert chain[0] == kaznet.CASE_URL and 2 <= len(chain) <= 4
        for here, there in itertools.pairwise(chain):
            assert there in served[here].links, f"{here} does not link to {there}"
        assert served[mirror.url].images == [f"http://{host_of(mirror.url)}/img/{mirror.image}"]
    linking = {
        url for url, page in served.items() for link in page.links if link == MIRRORS_ALL[0].url
    }
    assert linking == {"http://kuryer-24.kz/"}  # a mirror is linked from its neighbour only


def test_mirrors_are_reachable_from_the_case_within_kaznet(web: kaznet.SandboxKaznet) -> None:
    reached = sweep(web, (kaznet.CASE_URL,), max_depth=3, obey_robots=False)
    depths = [reached[mirror.url] for mirror in kaznet.MIRRORS_IN_SCOPE]
    assert all(1 <= depth <= 3 for depth in depths) and {2, 3} <= set(depths)
    assert kaznet.MIRROR_BEHIND_ROBOTS.url in reached
    assert kaznet.MIRROR_FOREIGN.url not in reached
    assert all(kaznet.in_kaznet(host_of(url)) for url in reached)
    anywhere = sweep(web, (kaznet.CASE_URL,), max_depth=2, obey_robots=False, kaznet_only=False)
    assert kaznet.MIRROR_FOREIGN.url in anywhere  # it is there for a sweep that is not scoped


def test_a_sweep_that_obeys_robots_misses_only_the_private_mirror(
    web: kaznet.SandboxKaznet,
) -> None:
    private = kaznet.MIRROR_BEHIND_ROBOTS.url
    rules = RobotFileParser()
    rules.parse(fetch(web, f"http://{host_of(private)}/robots.txt").body.decode().splitlines())
    assert not rules.can_fetch("*", private)
    assert urlsplit(private).path.startswith(kaznet.ROBOTS_DISALLOWED[host_of(private)])
    assert private not in {location for _, location in kaznet.REDIRECTS.values()}
    before = len(web.hits)
    reached = sweep(web, (kaznet.CASE_URL, *kaznet.SEED_URLS), max_depth=99, obey_robots=True)
    assert {mirror.url for mirror in kaznet.MIRRORS_IN_SCOPE} <= set(reached)
    assert private not in reached
    assert (host_of(private), urlsplit(private).path) not in web.hits[before:]
    assert len(reached) >= 200
    hosts_without_robots = [h for h, text in kaznet.ROBOTS.items() if text is None]
    assert 0 < len(hosts_without_robots) < len(kaznet.ALL_HOSTS) / 3


def test_foreign_hosts_are_not_kaznet(served: dict[str, Fetched]) -> None:
    for host in kaznet.FOREIGN_HOSTS:
        unicode = idna.decode(host)
        assert not unicode.endswith((".kz", ".қаз")) and not kaznet.in_kaznet(host)
    for host in kaznet.KAZNET_HOSTS:
        assert idna.decode(host).endswith((".kz", ".қаз"))
    assert {host.rsplit(".", 1)[1] for host in kaznet.FOREIGN_HOSTS} >= {"com", "ru", "de", "top"}
    assert host_of(kaznet.MIRROR_FOREIGN.url) in kaznet.FOREIGN_HOSTS
    back = {
        link
        for url, page in served.items()
        if host_of(url) in kaznet.FOREIGN_HOSTS
        for link in page.links
        if kaznet.in_kaznet(host_of(link))
    }
    assert back, "some foreign host should link back into Kaznet"


def test_mirror_pictures_decode_and_differ_from_the_original(web: kaznet.SandboxKaznet) -> None:
    original = fetch(web, f"http://{kaznet.CASE_HOST}/img/{kaznet.CASE_IMAGE}").body
    size = Image.open(io.BytesIO(original)).size
    names = {mirror.image for mirror in MIRRORS_ALL}
    assert {"emblem-10~border.jpg", "emblem-10~half.jpg", "emblem-10~mirror.jpg"} <= names
    assert any(re.fullmatch(r"emblem-10~q\d+\.jpg", name) for name in names)
    for mirror in MIRRORS_ALL:
        data = fetch(web, f"http://{host_of(mirror.url)}/img/{mirror.image}").body
        picture = Image.open(io.BytesIO(data))
        picture.load()
        assert picture.format == "JPEG" and data != original, mirror.image
        if "~half" in mirror.image:
            assert picture.size == (size[0] // 2, size[1] // 2)
        if "~q" in mirror.image or "~mirror" in mirror.image:
            assert picture.size == size
        if "~q" not in mirror.image:
            assert data == sandbox_sites.image_bytes(mirror.image)  # as the main sandbox draws it


def test_mirror_texts_are_reworded_with_other_contacts() -> None:
    case_text = " ".join(kaznet.CASE.sentences)
    handles = set(re.findall(r"@\w+", case_text))
    for mirror in MIRRORS_ALL:
        text = " ".join(mirror.sentences)
        assert text != case_text and not set(mirror.sentences) & set(kaznet.CASE.sentences)
        assert re.search(r"заклад|клад", text, re.IGNORECASE)
        assert re.search(r"за час|в течение часа|за 60 минут", text)
        handle = re.search(r"@\w+", text)
        assert handle is not None and handle.group() not in handles
        handles.add(handle.group())


def test_the_slow_host_answers_late_and_stop_does_not_wait() -> None:
    assert kaznet.SLOW_S == 1.5
    with kaznet.SandboxKaznet(slow_s=0.4) as web:
        started = time.monotonic()
        assert fetch(web, f"http://{kaznet.SLOW_HOST}/").status == 200
        assert time.monotonic() - started >= 0.35
        started = time.monotonic()
        assert fetch(web, "http://dala-habar.kz/").status == 200
        assert time.monotonic() - started < 0.35
    held = kaznet.SandboxKaznet(slow_s=60).start()
    outcome: list[object] = []

    def ask() -> None:
        try:
            outcome.append(fetch(held, f"http://{kaznet.SLOW_HOST}/"))
        except (OSError, http.client.HTTPException) as error:
            outcome.append(error)

    waiting = threading.Thread(target=ask, daemon=True)
    waiting.start()
    time.sleep(0.2)
    started = time.monotonic()
    held.stop()
    assert time.monotonic() - started < 1.0
    waiting.join(5)
    assert len(outcome) == 1 and not isinstance(outcome[0], Fetched)  # dropped, not answered


def test_the_web_is_the_same_in_every_process() -> None:
    here = hashlib.sha256(b"".join(kaznet.render(page) for page in kaznet.PAGES.values()))
    script = (
        "import hashlib; from crawler import sandbox_kaznet as k; "
        "print(hashlib.sha256(b''.join(k.render(p) for p in k.PAGES.values())).hexdigest())"
    )
    env = os.environ | {"PYTHONHASHSEED": "12345"}
    other = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, env=env
    )
    assert other.stdout.strip() == here.hexdigest()
