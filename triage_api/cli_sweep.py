"""`hotline sweep start|join|stop|status`: run a proactive sweep (in this process or in several
that share its frontier), join a running or stopped sweep from any machine, stop one, list
recent sweeps."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import Any

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2


def cmd_sweep_start(args: argparse.Namespace) -> int:
    from crawler.evidence import EvidenceStore
    from crawler.sweep.run import budget_from, manners_from
    from triage_api import sweeps
    from triage_api.config import get_settings
    from triage_api.db import session_scope
    from triage_api.sweep_seeds import Seed, seeds_from_cases

    if not 1 <= args.processes <= 64:
        print("--processes is between 1 and 64", file=sys.stderr)
        return EXIT_BAD_INPUT
    seeds = [Seed(url, "given", 0) for url in args.seed or []]
    if args.from_cases:
        with session_scope() as session:
            seeds += seeds_from_cases(session, EvidenceStore(get_settings().evidence_dir))
    if not seeds:
        print("no seeds: give --seed URL or --from-cases (no confirmed case yet?)", file=sys.stderr)
        return EXIT_BAD_INPUT
    done = sweeps.start(
        seeds,
        budget=budget_from(args),
        manners=manners_from(args),
        render=args.render,
        processes=args.processes,
    )
    print(json.dumps(_summary(done), ensure_ascii=False))
    return EXIT_OK if done.status == "finished" else EXIT_FAILED


def cmd_sweep_join(args: argparse.Namespace) -> int:
    from triage_api import sweeps

    restarted = sweeps.resume(args.sweep_id)  # a stopped sweep runs again; a running one is joined
    try:
        done = sweeps.work(args.sweep_id, opened=restarted)
    except (LookupError, ValueError) as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_BAD_INPUT
    print(json.dumps(_summary(done), ensure_ascii=False))
    return EXIT_OK if done.status in ("finished", "running") else EXIT_FAILED


def cmd_sweep_stop(args: argparse.Namespace) -> int:
    """Ask a running sweep's processes to leave; `join` carries the sweep on later."""
    from triage_api.sweep_stop import SweepNotRunning, stop

    try:
        now = stop(args.sweep_id, actor="cli")
    except (LookupError, SweepNotRunning) as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_BAD_INPUT
    print(json.dumps({"id": args.sweep_id, "status": now}))
    return EXIT_OK


def cmd_sweep_nightly(args: argparse.Namespace) -> int:
    """What Celery beat does at HOTLINE_SWEEP_AT_UTC: open the sweep and queue its processes."""
    from triage_api import sweeps

    print(json.dumps({"sweep": sweeps.schedule_nightly()}))
    return EXIT_OK


def cmd_sweep_status(args: argparse.Namespace) -> int:
    from triage_api import sweeps
    from triage_api.db import session_scope

    with session_scope() as session:
        rows = [_summary(sweep) for sweep in sweeps.recent(session, args.limit)]
    if args.json:
        print(json.dumps(rows, ensure_ascii=False))
    else:
        for row in rows:
            print(
                f"sweep {row['id']} {row['status']}: {row['pages']} pages on {row['hosts']} hosts,"
                f" {row['pictures']} pictures, {row['matches']} matches, {row['new_cases']} new"
                f" cases, {row['errors']} errors (seeds {row['seeds']})"
            )
    return EXIT_OK


def _summary(sweep: Any) -> dict[str, Any]:
    return {
        "id": sweep.id,
        "status": sweep.status,
        "trigger": sweep.trigger,
        "seeds": len(sweep.seeds),
        "pages": sweep.pages,
        "pictures": sweep.pictures,
        "hosts": sweep.hosts,
        "matches": sweep.matches,
        "new_cases": sweep.new_cases,
        "errors": sweep.errors,
        "started_at": sweep.started_at.isoformat(),
        "finished_at": sweep.finished_at.isoformat() if sweep.finished_at else None,
        "stats": sweep.stats,
    }


def add_commands(sub: Any, add: Callable[..., argparse.ArgumentParser]) -> None:
    sweep = sub.add_parser("sweep", help="proactive Kaznet sweeps").add_subparsers(
        dest="sweep_command", required=True
    )
    start = add("start", cmd_sweep_start, "run one sweep in this process", sweep)
    start.add_argument("--seed", action="append", help="a URL to start from (repeatable)")
    start.add_argument("--from-cases", action="store_true", help="seeds from the hotline's cases")
    start.add_argument("--max-pages", type=int, default=1000)
    start.add_argument("--max-pages-per-host", type=int, default=200)
    start.add_argument("--max-depth", type=int, default=3)
    start.add_argument("--delay", type=float, default=0.5, help="seconds between a host's pages")
    start.add_argument("--per-host-concurrency", type=int, default=2)
    start.add_argument("--time-limit", type=float, default=3600.0)
    start.add_argument("--ignore-robots", action="store_true")
    start.add_argument(
        "--processes",
        type=int,
        default=1,
        help="processes sharing the sweep's frontier in Redis (needs HOTLINE_BROKER_URL=redis://)",
    )
    start.add_argument(
        "--render",
        choices=("never", "when-needed", "always"),
        default="when-needed",
        help="pages through Chromium: never, when a page is an empty app shell, or always",
    )
    join = add("join", cmd_sweep_join, "work a running or stopped sweep in this process", sweep)
    join.add_argument("sweep_id", type=int)
    stop = add("stop", cmd_sweep_stop, "ask a running sweep's processes to stop", sweep)
    stop.add_argument("sweep_id", type=int)
    add("nightly", cmd_sweep_nightly, "open the scheduled sweep and queue its processes", sweep)
    status = add("status", cmd_sweep_status, "recent sweeps and their progress", sweep)
    status.add_argument("--limit", type=int, default=20)
    status.add_argument("--json", action="store_true")
