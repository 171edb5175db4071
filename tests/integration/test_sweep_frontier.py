"""Sweep processes sharing one Redis frontier (`crawler.sweep.frontier`), on the sandbox Kaznet
and real Redis: two processes fetch each page once between them and count against one budget,
and a process killed with SIGKILL loses nothing: another takes back what it held and finishes
the sweep without fetching again what was done."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from pathlib import Path

import pytest
import redis

from crawler import sandbox_kaznet as kaznet
from crawler.sandbox_kaznet import SandboxKaznet
from crawler.sweep.frontier import ALIVE_S, Frontier

pytestmark = pytest.mark.integration


@pytest.fixture
def frontier_key(redis_server: str) -> object:
    key = f"hotline:test-sweep:{uuid.uuid4().hex}"
    yield key
    Frontier.connect(redis_server, key).forget()


def start(
    web: SandboxKaznet, redis_url: str, key: str, out: Path, *extra: str
) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "crawler.sweep.run",
            "--seed",
            kaznet.CASE_URL,
            "--out",
            str(out),
            "--host-map",
            json.dumps(web.host_map),
            "--host-map-only",
            "--max-depth",
            "5",
            "--max-pages",
            "400",
            "--frontier",
            redis_url,
            "--frontier-key",
            key,
            *extra,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(process: subprocess.Popen[str], timeout: float = 240) -> None:
    _, stderr = process.communicate(timeout=timeout)
    assert process.returncode == 0, stderr[-3000:]


def pages(out: Path) -> list[str]:
    if not out.exists():
        return []
    rows = [json.loads(line) for line in out.read_text().splitlines() if line.strip()]
    return [row["url"] for row in rows if row["kind"] == "page"]


def page_hits(hits: list[tuple[str, str]]) -> Counter[tuple[str, str]]:
    return Counter(hit for hit in hits if hit[1] != "/robots.txt" and "." not in hit[1][-5:])


def test_two_processes_share_the_frontier_and_fetch_each_page_once(
    tmp_path: Path, redis_server: str, frontier_key: str
) -> None:
    with SandboxKaznet() as web:
        first = start(web, redis_server, frontier_key, tmp_path / "a.jsonl", "--delay", "0.3")
        second = start(web, redis_server, frontier_key, tmp_path / "b.jsonl", "--delay", "0.3")
        finish(first)
        finish(second)
        hits = list(web.hits)
    a, b = pages(tmp_path / "a.jsonl"), pages(tmp_path / "b.jsonl")
    assert a and b, "both processes worked the sweep"
    assert not set(a) & set(b) and len(set(a)) == len(a) and len(set(b)) == len(b)
    assert {mirror.url for mirror in kaznet.MIRRORS_IN_SCOPE} <= set(a) | set(b)
    assert kaznet.MIRROR_BEHIND_ROBOTS.url not in set(a) | set(b)
    fetched_twice = [hit for hit, n in page_hits(hits).items() if n > 1]
    assert not fetched_twice
    progress = Frontier.connect(redis_server, frontier_key).progress()
    assert progress.drained and progress.done == progress.queued
    assert progress.pages >= len(a) + len(b)  # admitted; refused by robots.txt or 404 count too


def test_two_processes_count_against_one_page_budget(
    tmp_path: Path, redis_server: str, frontier_key: str
) -> None:
    with SandboxKaznet() as web:
        extra = ("--delay", "0.05", "--max-pages", "25")
        first = start(web, redis_server, frontier_key, tmp_path / "a.jsonl", *extra)
        second = start(web, redis_server, frontier_key, tmp_path / "b.jsonl", *extra)
        finish(first)
        finish(second)
    assert len(pages(tmp_path / "a.jsonl")) + len(pages(tmp_path / "b.jsonl")) == 25


def test_a_killed_process_loses_nothing_and_the_sweep_resumes(
    tmp_path: Path, redis_server: str, frontier_key: str
) -> None:
    with SandboxKaznet() as web:
        whole = tmp_path / "whole.jsonl"
        finish(start(web, redis_server, f"{frontier_key}:whole", whole, "--delay", "0"))
        Frontier.connect(redis_server, f"{frontier_key}:whole").forget()
        expected = set(pages(whole))
        web.hits.clear()

        killed_out, resumed_out = tmp_path / "killed.jsonl", tmp_path / "resumed.jsonl"
        doomed = start(web, redis_server, frontier_key, killed_out, "--delay", "0.2")
        deadline = time.monotonic() + 60
        while len(pages(killed_out)) < 15 and time.monotonic() < deadline:
            time.sleep(0.1)
        os.kill(doomed.pid, signal.SIGKILL)
        doomed.wait(timeout=10)
        before = set(pages(killed_out))
        frontier = Frontier.connect(redis_server, frontier_key)
        held = frontier.progress().held
        assert 15 <= len(before) < len(expected) and held > 0  # killed in the middle, holding some

        began = time.monotonic()
        finish(start(web, redis_server, frontier_key, resumed_out, "--delay", "0"))
        waited = time.monotonic() - began
        hits = list(web.hits)
    after = set(pages(resumed_out))
    progress = frontier.progress()
    assert progress.drained and progress.done == progress.queued  # every request ran once
    assert {mirror.url for mirror in kaznet.MIRRORS_IN_SCOPE} <= before | after
    assert len(before | after) >= len(expected) * 0.9  # the same sweep, give or take the order
    again = before & after
    assert len(again) <= held  # only what the dead process held and had not finished
    assert waited < ALIVE_S + 120
    assert redis.Redis.from_url(redis_server).exists(f"{frontier_key}:queue") == 0
    fetched_twice = [hit for hit, n in page_hits(hits).items() if n > 1]
    assert len(fetched_twice) <= held


def test_entries_this_code_did_not_write_are_refused_not_obeyed(
    tmp_path: Path, redis_server: str, frontier_key: str
) -> None:
    """Whatever else reaches the queue (a bug, a hand in Redis) is dropped with a log line: no
    callback outside the spider's three, no crash, and the sweep goes on."""
    client = redis.Redis.from_url(redis_server)
    strange = [
        "not json at all",
        json.dumps([1, 2, 3]),
        json.dumps({"u": "http://dala-habar.kz/", "f": "x1", "cb": "closed", "m": {}, "p": 0}),
        json.dumps({"u": "http://dala-habar.kz/", "f": "x2", "cb": "__init__", "m": {}, "p": 0}),
        json.dumps({"f": "x3"}),
    ]
    client.zadd(f"{frontier_key}:queue", {member: -1e12 for member in strange})
    with SandboxKaznet() as web:
        stats = tmp_path / "stats.json"
        process = start(
            web,
            redis_server,
            frontier_key,
            tmp_path / "a.jsonl",
            "--max-pages",
            "5",
            "--stats",
            str(stats),
        )
        _, stderr = process.communicate(timeout=240)
    assert process.returncode == 0, stderr[-3000:]
    assert len(pages(tmp_path / "a.jsonl")) == 5
    assert json.loads(stats.read_text())["frontier/refused"] == len(strange)
    assert stderr.count("entry refused") == len(strange)
    progress = Frontier.connect(redis_server, frontier_key).progress()
    assert progress.drained
