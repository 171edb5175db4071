"""Hash-list import speed: 1M-row files read, checked and written, against plain parsing.

Run:  python benchmarks/bench_hashlist.py [--rows N] [--backends sqlite,postgres]

What it does, bounded in size and cleaned up (temp dir, the PostgreSQL database) also on error,
Ctrl-C or SIGTERM:
  1. writes synthetic lists of N rows (70% md5, 20% sha256, 10% pdq with a quality) as CSV,
     JSON lines and threatexchange `<signal_type> <hash>` text into a temp dir;
  2. reading only, per format: the baseline (`csv.reader` counting rows; `json.loads` per line;
     `str.split` per line) and our reader (bounded lines, every field checked), rows/s and the
     ratio ours/baseline in the same run;
  3. per engine (SQLite file; a fresh PostgreSQL database `hl_bench_<random>`): `import_rows` of
     the CSV into an empty list (rows/s, and its ratio to plain CSV parsing), the same file again
     (every row already present), and a CSV export of the list;
  4. prints the process's peak RSS after each phase (readers stream: it should not grow with N).

The machine has 2 cores shared with other work; the load average is printed before and after.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import functools
import json
import os
import resource
import secrets
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"


class Abort(KeyboardInterrupt):
    """Raised from signal handlers so that `finally` blocks clean up."""


def _on_signal(signum: int, _frame: object) -> None:
    raise Abort(f"stopped by signal {signal.Signals(signum).name}")


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def synthetic(rows: int) -> Iterator[tuple[str, str, int | None]]:
    for n in range(rows):
        kind = n % 10
        if kind < 7:
            yield "md5", f"{n:032x}", None
        elif kind < 9:
            yield "sha256", f"{n:064x}", None
        else:
            yield "pdq", f"{n * 7919:064x}", 50 + n % 51


def write_files(directory: Path, rows: int) -> dict[str, Path]:
    paths = {
        "csv": directory / "list.csv",
        "jsonl": directory / "list.jsonl",
        "hma": directory / "list.txt",
    }
    with (
        paths["csv"].open("w", newline="") as c,
        paths["jsonl"].open("w") as j,
        paths["hma"].open("w") as h,
    ):
        writer = csv.writer(c, lineterminator="\n")
        writer.writerow(["hash_type", "hash", "category", "note", "quality"])
        for hash_type, value, quality in synthetic(rows):
            writer.writerow([hash_type, value, "", "", "" if quality is None else quality])
            item: dict[str, object] = {"hash_type": hash_type, "hash": value}
            if quality is not None:
                item["quality"] = quality
            j.write(json.dumps(item) + "\n")
            h.write(f"{'video_md5' if hash_type == 'md5' else hash_type} {value}\n")
    return paths


def timed(work: Callable[[], int]) -> tuple[int, float]:
    started = time.perf_counter()
    count = work()
    return count, time.perf_counter() - started


def baseline(fmt: str, path: Path) -> int:
    with path.open(newline="") as handle:
        if fmt == "csv":
            return sum(1 for _ in csv.reader(handle)) - 1
        if fmt == "jsonl":
            return sum(1 for line in handle if json.loads(line))
        return sum(1 for line in handle if len(line.split()) >= 2)


def ours(fmt: str, path: Path) -> int:
    from classifiers.hashlist import HashRow
    from classifiers.hashlist_formats import read_rows

    with path.open("rb") as handle:
        rows = read_rows(handle, fmt)
        good = sum(1 for row in rows if isinstance(row, HashRow))
    return good


def bench_readers(paths: dict[str, Path], rows: int) -> float:
    print("\n(a) reading only: rows/s")
    print(f"{'format':<7} {'baseline':>12} {'ours':>12} {'ours/baseline':>14}  peak RSS")
    csv_rate = 0.0
    for fmt, path in paths.items():
        count, base_s = timed(functools.partial(baseline, fmt, path))
        good, ours_s = timed(functools.partial(ours, fmt, path))
        assert count == rows and good == rows, (fmt, count, good)
        if fmt == "csv":
            csv_rate = rows / base_s
        print(
            f"{fmt:<7} {rows / base_s:>12,.0f} {rows / ours_s:>12,.0f} "
            f"{base_s / ours_s:>14.2f}  {peak_rss_mb():.0f} MB"
        )
    return csv_rate


def use_database(url: str, data_dir: Path) -> None:
    from triage_api import config, db

    os.environ["HOTLINE_DATA_DIR"] = str(data_dir)
    os.environ["HOTLINE_DATABASE_URL"] = url
    config.get_settings.cache_clear()
    db.upgrade()


def bench_import(engine: str, url: str, data_dir: Path, path: Path, rows: int, base: float) -> None:
    from classifiers.hashlist_formats import read_rows
    from triage_api import db
    from triage_api.hashlists import export, import_rows, open_list

    use_database(url, data_dir)

    def run_import() -> int:
        with path.open("rb") as handle, db.session_scope() as session:
            hash_list, _ = open_list(session, name="bench", category="csam")
            result = import_rows(session, read_rows(handle, "csv"), hash_list=hash_list)
        assert result.bad == 0
        return result.added

    def run_export() -> int:
        with db.session_scope() as session, open(os.devnull, "w") as sink:
            return export(session, sink, fmt="csv", list_name="bench")

    added, first_s = timed(run_import)
    again, again_s = timed(run_import)
    exported, export_s = timed(run_export)
    assert added == rows and again == 0 and exported == rows, (added, again, exported)
    for what, seconds in (
        ("import, new list", first_s),
        ("import again, all present", again_s),
        ("export csv", export_s),
    ):
        print(
            f"{engine:<9} {what:<26} {rows / seconds:>10,.0f} rows/s {seconds:>7.1f} s"
            f" {rows / seconds / base:>8.2f} x csv.reader   peak RSS {peak_rss_mb():.0f} MB"
        )
    db.engine_for(url).dispose()


@contextlib.contextmanager
def postgres_database() -> Iterator[str]:
    import psycopg

    name = f"hl_bench_{secrets.token_hex(4)}"
    with psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=3) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    finally:
        from triage_api import db

        db.engine_for.cache_clear()
        with psycopg.connect(PG_ADMIN, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--backends", default="sqlite,postgres")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, _on_signal)
    print(f"rows: {args.rows:,}  python {sys.version.split()[0]}  load {os.getloadavg()}")
    temp = Path(tempfile.mkdtemp(prefix="hl-bench-hashlist-"))
    try:
        started = time.perf_counter()
        paths = write_files(temp, args.rows)
        sizes = ", ".join(f"{p.name} {p.stat().st_size / 1e6:.0f} MB" for p in paths.values())
        print(f"files written in {time.perf_counter() - started:.1f} s: {sizes}")
        base = bench_readers(paths, args.rows)
        print("\n(b) import of the CSV into the database (and export), vs plain csv.reader")
        for engine in args.backends.split(","):
            if engine == "sqlite":
                url = f"sqlite:///{temp / 'bench.sqlite'}"
                bench_import(engine, url, temp / "var", paths["csv"], args.rows, base)
            elif engine == "postgres":
                with postgres_database() as url:
                    bench_import(engine, url, temp / "var", paths["csv"], args.rows, base)
    except Abort as stop:
        print(f"\n{stop}", file=sys.stderr)
        return 1
    finally:
        shutil.rmtree(temp, ignore_errors=True)
    print(f"\nload {os.getloadavg()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
