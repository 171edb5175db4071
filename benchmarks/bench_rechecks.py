"""Rechecks in light mode: how many one worker process does per minute, and how late they run.

Run:  python benchmarks/bench_rechecks.py [--takedowns N] [--spread S] [--tick S]

A scratch PostgreSQL database gets N confirmed Kaznet cases, each with a takedown and the stored
HTML of its page; the pages are served on loopback by a threaded web server under invented `.kz`
names (half still online, a quarter answering 404, a quarter a soft 404), and every recheck goes
through the egress point as in production.

1. Throughput, all N due at once: the served path (`takedowns.claim_due` + `rechecks.run_light`
   in batches of 25, fetched concurrently, verdicts and evidence stored), against the baseline of
   the same work one takedown at a time (one fetch, one verdict, one commit). Twice: with pages
   answered at once (loopback: the Python work is all there is), and with every answer held
   `--latency` seconds, as a real host far away answers. Target of issue 7: >= 600 rechecks per
   minute per worker.
2. Delay under load: N more takedowns fall due evenly over `--spread` seconds while a loop ticks
   every `--tick` seconds (as Celery beat's takedown tick would) and runs what is due; the delay
   is the recheck's finish minus its due time (p50, p95, max).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import timedelta
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_claims import queue_database  # noqa: E402

PAGE = (
    "<html><head><title>Товар {n}</title></head><body><p>Магазин {n}: закладки по городу,"
    " доставка за час, оплата криптовалютой, пишите в телеграм, новая партия уже пришла.</p>"
    "<p>Постоянным клиентам скидка, качество проверено, отзывы на форуме.</p></body></html>"
)


def plant(count: int, offset: int, site: object, due_in: list[float]) -> None:
    """`count` confirmed cases with takedowns due `due_in[i]` seconds from now."""
    from crawler.evidence import EvidenceStore
    from triage_api import config, db
    from triage_api.models import Capture, Case, Takedown, utcnow

    store = EvidenceStore(config.get_settings().evidence_dir)
    now = utcnow()
    with db.session_scope() as session:
        for i in range(offset, offset + count):
            url = f"http://shop-{i % 50}.kz/item/{i}"
            html = PAGE.format(n=i)
            kind = i % 4
            if kind == 2:
                site.take_down(f"/item/{i}")  # type: ignore[attr-defined]
            elif kind == 3:
                site.soft_404(f"/item/{i}")  # type: ignore[attr-defined]
            else:
                site.put(f"/item/{i}", html)  # type: ignore[attr-defined]
            case = Case(
                canonical_url=url, host=f"shop-{i % 50}.kz", status="decided", stage="ready"
            )
            session.add(case)
            session.flush()
            capture = Capture(
                case_id=case.id, requested_url=url, html_sha256=store.put(html.encode())
            )
            session.add(capture)
            session.flush()
            case.last_capture_id = capture.id
            due = now + timedelta(seconds=due_in[i - offset])
            session.add(
                Takedown(
                    case_id=case.id,
                    category="drugs",
                    jurisdiction="kaznet",
                    confirmed_at=now,
                    first_notice_at=now,
                    last_notice_at=now,
                    next_check_at=due,
                )
            )


def served(batch: int = 25) -> int:
    """What a worker does with the takedown tick's batches."""
    from triage_api import config, db, rechecks, takedowns
    from triage_api.models import utcnow

    settings = config.get_settings()
    with db.session_scope() as session:
        due = takedowns.claim_due(session, utcnow(), 100_000, 600)
    for start in range(0, len(due), batch):
        rechecks.run_light(due[start : start + batch], settings)
    return len(due)


def one_at_a_time() -> int:
    """The baseline: one fetch, one verdict, one commit per takedown."""
    from triage_api import config, db, rechecks, takedowns
    from triage_api.models import utcnow

    settings = config.get_settings().model_copy(update={"recheck_concurrency": 1})
    with db.session_scope() as session:
        due = takedowns.claim_due(session, utcnow(), 100_000, 600)
    for item in due:
        rechecks.run_light([item], settings)
    return len(due)


def reset_due() -> None:
    import sqlalchemy as sa

    from triage_api import db
    from triage_api.models import Recheck, Takedown, utcnow

    with db.session_scope() as session:
        session.execute(sa.delete(Recheck))
        session.execute(
            sa.update(Takedown).values(
                state="open",
                next_check_at=utcnow(),
                check_lease_until=None,
                removed_at=None,
                schedule_step=0,
                checks=0,
            )
        )


def delays(tick: float) -> np.ndarray:
    import sqlalchemy as sa

    from triage_api import db
    from triage_api.models import Recheck

    with db.session_scope() as session:
        rows = session.execute(sa.select(Recheck.due_at, Recheck.finished_at)).all()
    return np.array([(done - due).total_seconds() for due, done in rows])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--takedowns", type=int, default=600)
    parser.add_argument("--spread", type=float, default=60.0)
    parser.add_argument("--tick", type=float, default=2.0)
    parser.add_argument("--latency", type=float, default=0.2, help="seconds a far host takes")
    args = parser.parse_args()
    from tests.takedown_sandbox import HostedSite

    site = HostedSite()
    hosts = {f"shop-{i}.kz": f"127.0.0.1:{site.port}" for i in range(50)}
    os.environ["HOTLINE_HOST_MAP"] = __import__("json").dumps(hosts)
    os.environ["HOTLINE_HOST_MAP_ONLY"] = "true"
    with queue_database(0):
        from triage_api import config

        config.get_settings.cache_clear()
        n = args.takedowns
        plant(n, 0, site, [-1.0] * n)
        print(f"{n} takedowns due now; pages on loopback: online, 404 and soft 404\n")
        print("                                 rechecks/min (one process)")
        for latency in (0.0, args.latency):
            site.delay_s = latency
            reset_due()
            started = time.perf_counter()
            done = served()
            ours = done / (time.perf_counter() - started) * 60
            reset_due()
            started = time.perf_counter()
            done_base = one_at_a_time()
            base = done_base / (time.perf_counter() - started) * 60
            print(f"  answers after {latency:g} s")
            print(f"    batched, concurrent (served) {ours:9.0f}   ({done} rechecks)")
            print(f"    one at a time (baseline)     {base:9.0f}   ({done_base} rechecks)")
            print(f"    ratio served / baseline: {ours / base:.2f}x")
            met = "MET" if ours >= 600 else "NOT MET"
            print(f"    target >= 600 rechecks/min per worker: {met}")
        print()

        import sqlalchemy as sa

        from triage_api import db
        from triage_api.models import Recheck, Takedown

        with db.session_scope() as session:
            session.execute(sa.delete(Recheck))
            session.execute(sa.update(Takedown).values(state="closed", next_check_at=None))
        site.delay_s = args.latency
        plant(n, n, site, list(np.linspace(0, args.spread, n)))
        print(
            f"{n} more takedowns due evenly over {args.spread:.0f} s, a tick every {args.tick:g} s,"
            f" answers after {args.latency:g} s"
        )
        end = time.monotonic() + args.spread + 30
        while time.monotonic() < end:
            tick_started = time.monotonic()
            served()
            with db.session_scope() as session:
                left = session.scalar(
                    sa.select(sa.func.count()).where(
                        Takedown.state == "open", Takedown.next_check_at.is_not(None)
                    )
                )
                if not left or (time.monotonic() > end - 30 and left == 0):
                    break
            time.sleep(max(0.0, args.tick - (time.monotonic() - tick_started)))
        late = delays(args.tick)
        p50, p95 = np.percentile(late, [50, 95])
        print(
            f"  delay from due to done over {len(late)} rechecks: p50 {p50:.2f} s, "
            f"p95 {p95:.2f} s, max {late.max():.2f} s (tick {args.tick:g} s)"
        )
    site.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
