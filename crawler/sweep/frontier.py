"""One sweep's frontier in Redis, shared by every process that works the sweep, on any machine.

Scrapy's own scheduler keeps its queue in one process; a sweep that several processes share needs
one queue, one record of what was asked for, and one count against the budgets. Keys, under the
sweep's prefix `K`:

- `K:queue`: requests waiting, as JSON, ordered by priority then arrival (a sorted set).
- `K:seen`: fingerprints of every request ever queued: nothing is fetched twice; `K:done`: those
  whose callback ran. When the sweep is over the two are equal.
- `K:asked` (page → fewest hops from a seed found), `K:pages`, `K:per_host`: pages admitted
  against the sweep's budgets; `K:links`: each page's links as read, so a page found later by a
  shorter path has them followed again without a second fetch.
- `K:held:<worker>`: requests a worker took and has not finished. A worker renews
  `K:alive:<worker>` every few seconds; when it dies (SIGKILL, a lost machine) the key expires
  and any other worker puts what it held back on the queue. A request is finished once its
  callback has run, so a crash never loses one, and at worst fetches one again.

Admission and taking are Lua scripts, so two workers never admit past a budget or take the same
request. Redis is the broker's; a frontier lives until the sweep's keys are deleted.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import time
import uuid
from dataclasses import dataclass
from typing import Any

import redis
import scrapy
from scrapy.exceptions import DontCloseSpider
from scrapy.utils.request import RequestFingerprinter
from twisted.internet.task import LoopingCall

log = logging.getLogger(__name__)

ALIVE_S = 15  # a worker not heard from for this long is taken for dead
BEAT_S = 3.0
# What a request carries through Redis: the spider's own, and the counters that stop retries and
# redirects from going on for ever.
KEPT_META = (
    "seed",
    "hop",
    "page",
    "retry_times",
    "redirect_times",
    "redirect_ttl",
    "playwright",
    "rendered",
)
CALLBACKS = ("parse", "picture", "failed")  # what an entry from Redis may name, nothing else
PRIORITY_SPAN = 2**32  # arrival order inside one priority

# Admit a page against the budgets and queue it, in one step: 'ok', 'seen', 'budget' or 'host';
# or 'closer' when a page asked before is found by a shorter path (ARGV[8] hops, now kept): its
# links are followed again from there, not fetched or counted again. One step, because a worker
# killed between the two would leave a page counted and never fetched.
_ADMIT = """
local asked = redis.call('HGET', KEYS[1], ARGV[1])
if asked then
  if tonumber(ARGV[8]) >= tonumber(asked) then return 'seen' end
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[8])
  return 'closer'
end
if tonumber(redis.call('GET', KEYS[2]) or '0') >= tonumber(ARGV[3]) then return 'budget' end
if tonumber(redis.call('HGET', KEYS[3], ARGV[2]) or '0') >= tonumber(ARGV[4]) then
  return 'host'
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[8])
redis.call('INCR', KEYS[2])
redis.call('HINCRBY', KEYS[3], ARGV[2], 1)
if ARGV[6] ~= '' and redis.call('SADD', KEYS[4], ARGV[5]) == 1 then
  local arrival = redis.call('INCR', KEYS[6])
  redis.call('ZADD', KEYS[5], tonumber(ARGV[7]) * -4294967296 + arrival, ARGV[6])
end
return 'ok'
"""

# Take the first waiting request and hold it for this worker.
_TAKE = """
local first = redis.call('ZPOPMIN', KEYS[1])
if #first == 0 then return false end
local ok, entry = pcall(cjson.decode, first[1])
local fingerprint = first[1]
if ok and type(entry) == 'table' and type(entry['f']) == 'string' then fingerprint = entry['f'] end
redis.call('HSET', KEYS[2], fingerprint, cjson.encode({first[1], first[2]}))
return first[1]
"""

# Put back what a dead worker held, once, and forget the worker.
_RECLAIM = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
local held = redis.call('HVALS', KEYS[2])
for _, value in ipairs(held) do
  local pair = cjson.decode(value)
  redis.call('ZADD', KEYS[3], tonumber(pair[2]), pair[1])
end
redis.call('DEL', KEYS[2])
redis.call('SREM', KEYS[4], ARGV[1])
return #held
"""


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


@dataclass
class Progress:
    waiting: int
    held: int
    pages: int
    workers: int
    queued: int  # requests ever queued (pages and pictures)
    done: int
    hosts: int  # hosts pages were asked of

    @property
    def drained(self) -> bool:
        return self.waiting == 0 and self.held == 0


class Frontier:
    """The Redis side of a sweep's frontier: admission, queue, holds, and dead workers."""

    def __init__(self, client: redis.Redis, key: str, worker: str | None = None) -> None:
        self.client, self.key = client, key
        self.worker = worker or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._admit = client.register_script(_ADMIT)
        self._take = client.register_script(_TAKE)
        self._reclaim = client.register_script(_RECLAIM)

    @classmethod
    def connect(cls, url: str, key: str) -> Frontier:
        return cls(redis.Redis.from_url(url), key)

    def k(self, part: str) -> str:
        return f"{self.key}:{part}"

    # budgets
    def admit(
        self,
        entry: dict[str, Any],
        host: str,
        priority: int,
        max_pages: int,
        max_per_host: int,
        *,
        queue: bool = True,
    ) -> str:
        """Count a page against the budgets and queue it (unless `queue` is false: a page an
        earlier sweep fetched lately), unless it was asked for before."""
        keys = [
            self.k("asked"),
            self.k("pages"),
            self.k("per_host"),
            self.k("seen"),
            self.k("queue"),
            self.k("arrivals"),
        ]
        member = json.dumps(entry, sort_keys=True) if queue else ""
        hop = int(entry["m"].get("hop", 0))
        args = [entry["u"], host, max_pages, max_per_host, entry["f"], member, priority, hop]
        answer = self._admit(keys=keys, args=args)
        return answer.decode() if isinstance(answer, bytes) else str(answer)

    def hops(self, url: str) -> int | None:
        """The fewest hops from a seed the page is known at."""
        found = self.client.hget(self.k("asked"), url)
        return int(found) if found is not None else None

    def keep_links(self, url: str, links: list[str]) -> None:
        self.client.hset(self.k("links"), url, json.dumps(links))

    def links_of(self, url: str) -> list[str] | None:
        found = self.client.hget(self.k("links"), url)
        return [str(link) for link in json.loads(found)] if found is not None else None

    # queue
    def push(self, entry: dict[str, Any], priority: int) -> bool:
        """Queue a request unless its fingerprint was queued before (or it says dont_filter)."""
        if not entry.get("df") and not self.client.sadd(self.k("seen"), entry["f"]):
            return False
        arrival = self.client.incr(self.k("arrivals"))
        score = -priority * PRIORITY_SPAN + int(arrival)  # as _ADMIT
        self.client.zadd(self.k("queue"), {json.dumps(entry, sort_keys=True): score})
        return True

    def take(self) -> dict[str, Any] | None:
        raw = self._take(keys=[self.k("queue"), self.k(f"held:{self.worker}")])
        if not raw:
            return None
        try:
            entry = json.loads(raw)
        except ValueError:
            entry = None
        return entry if isinstance(entry, dict) else {"f": _text(raw), "bad": True}

    def finish(self, fingerprint: str) -> None:
        pipe = self.client.pipeline()
        pipe.hdel(self.k(f"held:{self.worker}"), fingerprint)
        pipe.sadd(self.k("done"), fingerprint)
        pipe.execute()

    def waiting(self) -> int:
        return int(self.client.zcard(self.k("queue")))

    # workers
    def beat(self) -> None:
        """Say this worker is alive, and put back what dead workers held."""
        self.client.sadd(self.k("workers"), self.worker)
        self.client.set(self.k(f"alive:{self.worker}"), str(time.time()), ex=ALIVE_S)
        self.reclaim()

    def reclaim(self) -> int:
        returned = 0
        for raw in self.client.smembers(self.k("workers")):
            worker = _text(raw)
            keys = [
                self.k(f"alive:{worker}"),
                self.k(f"held:{worker}"),
                self.k("queue"),
                self.k("workers"),
            ]
            returned += int(self._reclaim(keys=keys, args=[worker]))
        if returned:
            log.warning("frontier %s: %d held by dead workers queued again", self.key, returned)
        return returned

    def leave(self) -> None:
        """Put back what this worker still holds (a time limit, a stop) and sign off."""
        self.client.delete(self.k(f"alive:{self.worker}"))
        self.reclaim()

    def progress(self) -> Progress:
        pipe = self.client.pipeline()
        pipe.zcard(self.k("queue"))
        pipe.get(self.k("pages"))
        pipe.smembers(self.k("workers"))
        pipe.scard(self.k("seen"))
        pipe.scard(self.k("done"))
        pipe.hlen(self.k("per_host"))
        waiting, pages, workers, queued, done, hosts = pipe.execute()
        held = sum(int(self.client.hlen(self.k(f"held:{_text(w)}"))) for w in workers)
        return Progress(
            int(waiting), held, int(pages or 0), len(workers), int(queued), int(done), int(hosts)
        )

    def forget(self) -> None:
        """Delete the sweep's keys (after it finished; its results are in PostgreSQL)."""
        keys = list(self.client.scan_iter(match=f"{self.key}:*", count=1000))
        if keys:
            self.client.delete(*keys)


class RedisScheduler:
    """A Scrapy scheduler over the shared `Frontier` (setting SCHEDULER).

    Settings: HOTLINE_FRONTIER_URL (Redis) and HOTLINE_FRONTIER_KEY (the sweep's prefix). The
    spider tells the scheduler a request is finished through `spider.on_finished`.
    """

    def __init__(self, crawler: Any) -> None:
        self.crawler = crawler
        self.frontier = Frontier.connect(
            crawler.settings["HOTLINE_FRONTIER_URL"], crawler.settings["HOTLINE_FRONTIER_KEY"]
        )
        self.fingerprints: RequestFingerprinter = crawler.request_fingerprinter
        self.spider: scrapy.Spider | None = None
        # On the reactor's clock, not the engine's calls: a process waiting on slow hosts makes
        # no scheduler calls for a long time, and must not be taken for dead meanwhile.
        self._heartbeat = LoopingCall(self.frontier.beat)

    @classmethod
    def from_crawler(cls, crawler: Any) -> RedisScheduler:
        return cls(crawler)

    def open(self, spider: scrapy.Spider) -> None:
        self.spider = spider
        spider.frontier = self  # type: ignore[attr-defined]
        spider.on_finished = self.finished  # type: ignore[attr-defined]
        self.crawler.signals.connect(self._idle, signal=scrapy.signals.spider_idle)
        self._heartbeat.start(BEAT_S, now=True)

    def close(self, reason: str) -> None:
        if self._heartbeat.running:
            self._heartbeat.stop()
        self.frontier.leave()

    def has_pending_requests(self) -> bool:
        return self.frontier.waiting() > 0

    def enqueue_request(self, request: scrapy.Request) -> bool:
        entry = self._entry(request)
        queued = self.frontier.push(entry, request.priority)
        came_from = request.meta.get("frontier_fp")
        if came_from and came_from != entry["f"]:
            self.frontier.finish(came_from)  # a redirect: the new request carries on for it
        if not queued:
            self.crawler.stats.inc_value("frontier/filtered")
        return queued

    def next_request(self) -> scrapy.Request | None:
        while (entry := self.frontier.take()) is not None:
            try:
                request = self._request(entry)
            except (ValueError, KeyError, TypeError) as exc:  # not an entry this code wrote
                log.error("frontier %s: entry refused (%s): %.300r", self.frontier.key, exc, entry)
                self.crawler.stats.inc_value("frontier/refused")
                self.frontier.finish(str(entry.get("f", "")))
                continue
            self.crawler.stats.inc_value("frontier/taken")
            return request
        return None

    def admit(
        self,
        request: scrapy.Request,
        host: str,
        max_pages: int,
        max_per_host: int,
        *,
        queue: bool = True,
    ) -> str:
        """The spider's page admission: counted and queued at once (it yields nothing more)."""
        entry = self._entry(request)
        return self.frontier.admit(
            entry, host, request.priority, max_pages, max_per_host, queue=queue
        )

    # What the spider asks of the frontier besides admission.
    def hops(self, url: str) -> int | None:
        return self.frontier.hops(url)

    def keep_links(self, url: str, links: list[str]) -> None:
        self.frontier.keep_links(url, links)

    def links_of(self, url: str) -> list[str] | None:
        return self.frontier.links_of(url)

    def finished(self, request: scrapy.Request | None) -> None:
        fingerprint = request.meta.get("frontier_fp") if request is not None else None
        if fingerprint:
            self.frontier.finish(fingerprint)

    def _idle(self, spider: scrapy.Spider) -> None:
        """Stay while other workers hold requests: what they find may come back to us."""
        if not self.frontier.progress().drained:
            raise DontCloseSpider

    def _entry(self, request: scrapy.Request) -> dict[str, Any]:
        if request.method != "GET" or request.body:
            raise ValueError(f"the shared frontier carries GET requests only: {request}")
        callback = getattr(request.callback, "__name__", None)
        errback = getattr(request.errback, "__name__", None)
        meta = {k: request.meta[k] for k in KEPT_META if k in request.meta}
        return {
            "u": request.url,
            "f": self.fingerprints.fingerprint(request).hex(),
            "cb": callback,
            "eb": errback,
            "m": meta,
            "p": request.priority,
            "df": request.dont_filter,
        }

    def _request(self, entry: dict[str, Any]) -> scrapy.Request:
        spider = self.spider
        assert spider is not None
        return scrapy.Request(
            entry["u"],
            callback=_method(spider, entry.get("cb")),
            errback=_method(spider, entry.get("eb")),
            meta={**entry["m"], "frontier_fp": entry["f"]},
            priority=int(entry["p"]),
            dont_filter=bool(entry.get("df")),  # a redirect of it inherits this
        )


def _method(spider: scrapy.Spider, name: str | None) -> Any:
    if name is None:
        return None
    if name not in CALLBACKS:
        raise ValueError(f"a frontier entry names an unknown callback: {name!r}")
    return getattr(spider, name)
