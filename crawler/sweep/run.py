"""Running one sweep process: Scrapy settings for politeness and budgets, the egress point, and
a sink for what the spider finds. `python -m crawler.sweep.run` writes JSON lines (pages, and
pictures by sha256), for tests and for operators trying a seed set by hand.

Scrapy's reactor runs once per process, so each sweep process runs one crawl and exits.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scrapy.core.engine import ExecutionEngine
from scrapy.crawler import CrawlerProcess

from crawler.egress import EgressPolicy
from crawler.sweep.egress_point import EgressPoint
from crawler.sweep.halt import StopCheck
from crawler.sweep.handles import hand
from crawler.sweep.render import RENDER_MODES, render_settings
from crawler.sweep.scope import Scope
from crawler.sweep.sink import JsonLinesSink, Sink
from crawler.sweep.spider import Budget, Memory, SweepSpider

IDLE_POLL_S = 0.5


@dataclass
class Politeness:
    obey_robots: bool = True
    per_host_concurrency: int = 2
    delay_s: float = 0.5
    time_limit_s: float = 3600.0
    timeout_s: float = 20.0


@dataclass
class Shared:
    """A frontier in Redis that several sweep processes, on any machines, work together."""

    redis_url: str
    key: str


def sweep_settings(
    egress_url: str,
    manners: Politeness,
    job_dir: Path | None = None,
    shared: Shared | None = None,
    render: str = "never",
) -> dict[str, Any]:
    """Scrapy settings of a sweep: the remote-control console off, robots.txt as configured,
    per-host concurrency and delay (per process), a time limit, every request through the
    egress; the queue in this process (resumable from `job_dir`) or in a shared frontier."""
    settings: dict[str, Any] = {
        "TELNETCONSOLE_ENABLED": False,
        "ROBOTSTXT_OBEY": manners.obey_robots,
        "CONCURRENT_REQUESTS": 32,
        "CONCURRENT_REQUESTS_PER_DOMAIN": manners.per_host_concurrency,
        "DOWNLOAD_DELAY": manners.delay_s,
        "DEPTH_LIMIT": 0,  # the spider counts hops itself: pictures are not one
        "DEPTH_PRIORITY": 1,  # breadth first: near the seeds before far from them
        "SCHEDULER_DISK_QUEUE": "scrapy.squeues.PickleFifoDiskQueue",
        "SCHEDULER_MEMORY_QUEUE": "scrapy.squeues.FifoMemoryQueue",
        "CLOSESPIDER_TIMEOUT": manners.time_limit_s,
        "DOWNLOAD_TIMEOUT": manners.timeout_s,
        "DOWNLOAD_MAXSIZE": 20 * 1024 * 1024,
        "RETRY_TIMES": 1,
        "COOKIES_ENABLED": False,
        "USER_AGENT": "Mozilla/5.0 (X11; Linux x86_64) KaznetHotline/1.0 (sweep)",
        "LOG_LEVEL": "WARNING",
        "HOTLINE_EGRESS_URL": egress_url,
        "DOWNLOADER_MIDDLEWARES": {"crawler.sweep.spider.EgressRouting": 740},
        "ITEM_PIPELINES": {"crawler.sweep.sink.SinkPipeline": 100},
        "REQUEST_FINGERPRINTER_IMPLEMENTATION": "2.7",
    }
    if shared is not None:
        settings["SCHEDULER"] = "crawler.sweep.frontier.RedisScheduler"
        settings["HOTLINE_FRONTIER_URL"] = shared.redis_url
        settings["HOTLINE_FRONTIER_KEY"] = shared.key
    elif job_dir is not None:
        settings["JOBDIR"] = str(job_dir)  # pending requests and seen URLs survive a stop
    if render != "never":  # the browser for pages that need it; plain sweeps load none
        browser = render_settings(egress_url, timeout_s=manners.timeout_s)
        settings["DOWNLOADER_MIDDLEWARES"] |= browser.pop("DOWNLOADER_MIDDLEWARES")
        settings |= browser
    return settings


def run(
    seeds: list[str],
    *,
    policy: EgressPolicy,
    sink: Sink,
    scope: Scope | None = None,
    budget: Budget | None = None,
    manners: Politeness | None = None,
    job_dir: Path | None = None,
    shared: Shared | None = None,
    memory: Memory | None = None,
    render: str = "never",
    halt: StopCheck | None = None,
) -> dict[str, Any]:
    """Crawl from the seeds until the frontier is empty (in a shared frontier: also nothing held
    by another process), a budget ends it, or `halt` says an operator asked it to stop; Scrapy's
    stats."""
    with EgressPoint(policy) as point:
        settings = sweep_settings(
            point.url, manners or Politeness(), job_dir, shared, render=render
        )
        settings["HOTLINE_SINK"] = hand(sink)
        if halt is not None:
            settings["HOTLINE_HALT"] = hand(halt)
            settings["EXTENSIONS"] = {"crawler.sweep.halt.Halt": 500}
        if shared is not None:
            # An idle process polls the shared frontier on the engine's heartbeat (5 s).
            ExecutionEngine._SLOT_HEARTBEAT_INTERVAL = IDLE_POLL_S
        process = CrawlerProcess(settings | {"LOG_INSTALL_ROOT_HANDLER": False})
        crawler = process.create_crawler(SweepSpider)
        process.crawl(
            crawler,
            seeds=seeds,
            scope=scope or Scope(),
            budget=budget or Budget(),
            memory=memory,
            render=render,
        )
        process.start()
        stats = dict(crawler.stats.get_stats()) if crawler.stats else {}
        spider = crawler.spider
        if isinstance(spider, SweepSpider):
            stats["hotline/skipped"] = dict(spider.skipped)
            stats["hotline/pages_asked"] = spider.pages_asked
        stats["hotline/egress_refused"] = len(point.proxy.refused())
        stats["hotline/egress_turned_away"] = sorted(  # refused, or not on the host map
            {e.host for e in point.proxy.events if e.decision in ("refused", "unresolved")}
        )
    return stats


def budget_from(args: argparse.Namespace) -> Budget:
    """The budget of a command line that has --max-pages, --max-pages-per-host, --max-depth."""
    return Budget(
        max_pages=args.max_pages,
        max_pages_per_host=args.max_pages_per_host,
        max_depth=args.max_depth,
    )


def manners_from(args: argparse.Namespace) -> Politeness:
    """The politeness of a command line that has --ignore-robots, --per-host-concurrency,
    --delay and --time-limit."""
    return Politeness(
        obey_robots=not args.ignore_robots,
        per_host_concurrency=args.per_host_concurrency,
        delay_s=args.delay,
        time_limit_s=args.time_limit,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="One sweep process; JSON lines out.")
    parser.add_argument("--seed", action="append", required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--host-map", default="{}", help="JSON {host: 'ip:port'} (sandbox web)")
    parser.add_argument("--host-map-only", action="store_true")
    parser.add_argument("--max-pages", type=int, default=1000)
    parser.add_argument("--max-pages-per-host", type=int, default=200)
    parser.add_argument("--max-depth", type=int, default=4)
    parser.add_argument("--delay", type=float, default=0.5)
    parser.add_argument("--per-host-concurrency", type=int, default=2)
    parser.add_argument("--time-limit", type=float, default=3600.0)
    parser.add_argument("--ignore-robots", action="store_true")
    parser.add_argument("--job-dir", type=Path)
    parser.add_argument("--frontier", help="redis://… URL of a frontier shared with others")
    parser.add_argument("--frontier-key", default="hotline:sweep:cli")
    parser.add_argument(
        "--render", choices=RENDER_MODES, default="never", help="pages through the browser"
    )
    parser.add_argument("--stats", type=Path, help="write Scrapy's stats here as JSON")
    args = parser.parse_args(argv)
    handler = logging.StreamHandler()
    handler.setLevel(logging.WARNING)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    logging.getLogger().addHandler(handler)
    policy = EgressPolicy.build((), json.loads(args.host_map), args.host_map_only)
    with args.out.open("a", encoding="utf-8") as out:
        stats = run(
            args.seed,
            policy=policy,
            sink=JsonLinesSink(out),
            budget=budget_from(args),
            manners=manners_from(args),
            job_dir=args.job_dir,
            shared=Shared(args.frontier, args.frontier_key) if args.frontier else None,
            render=args.render,
        )
    if args.stats:
        args.stats.write_text(json.dumps(stats, default=str, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
