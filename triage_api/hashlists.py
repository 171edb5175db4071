"""Hash lists in the database: their metadata, importing rows, streaming them out again.

An import is all-or-nothing unless the caller asks to skip bad rows: a list is never left
half-imported without the operator being told which lines were wrong. Re-importing a file adds
nothing (the unique constraint on list, type and value) and the result says how many were there.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TextIO

import sqlalchemy as sa
from sqlalchemy.orm import Session

from classifiers.hashlist import MAX_SOURCE, HashRow, RowError
from classifiers.hashlist_formats import WRITERS, ListedHash
from triage_api import audit
from triage_api.models import HashList, KnownHash, utcnow
from triage_api.sqlutil import table_of, upsert_for
from triage_api.taxonomy import check_category

BATCH = 5000
PROGRESS_EVERY = 1000  # rows between calls of an import's progress callback
KEEP_ERRORS = 1000  # bad rows remembered in full; the rest are only counted
TRUST_LEVELS = ("trusted", "untrusted")
# "known": known material, a match raises the case; "allow": confirmed not illegal, suppresses.
LIST_KINDS = ("known", "allow")
MAX_LIST_NOTE = 2000


class HashListError(ValueError):
    """The import or export cannot start (unknown list or category, metadata that disagrees)."""


@dataclass
class ImportResult:
    list_name: str
    read: int = 0  # rows read, good and bad
    added: int = 0
    present: int = 0  # good rows already in the list, or repeated in the file
    bad: int = 0
    errors: list[RowError] = field(default_factory=list)  # the first KEEP_ERRORS bad rows
    aborted: bool = False
    own_sources: int = 0  # rows that named a source other than the list's (not stored per hash)

    def add_error(self, error: RowError) -> None:
        self.bad += 1
        if len(self.errors) < KEEP_ERRORS:
            self.errors.append(error)


@dataclass(frozen=True)
class ListSummary:
    name: str
    kind: str
    category: str
    trust: str
    source: str
    count: int
    created_at: datetime
    note: str | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "category": self.category,
            "trust": self.trust,
            "source": self.source,
            "count": self.count,
            "created_at": self.created_at.isoformat(),
            "note": self.note,
        }


def open_list(
    session: Session,
    *,
    name: str,
    category: str,
    source: str | None = None,
    trust: str | None = None,
    kind: str | None = None,
    note: str | None = None,
    fallback_source: str = "",
) -> tuple[HashList, bool]:
    """The list by name (and whether it was created now); metadata given must match its own.

    None leaves a field as the existing list has it, or takes the default for a new list
    (`fallback_source`, trusted, known).
    """
    _check_metadata(name=name, category=category, source=source, trust=trust, kind=kind)
    found = session.scalar(sa.select(HashList).where(HashList.name == name))
    created = False
    if found is None:
        # ON CONFLICT: a concurrent import creating the same list is no error, and no savepoint.
        inserted = session.execute(
            upsert_for(session)(table_of(HashList))
            .values(
                name=name,
                category=category,
                source=source if source is not None else fallback_source[:MAX_SOURCE],
                trust=trust or "trusted",
                kind=kind or "known",
                note=note or None,
                created_at=utcnow(),
            )
            .on_conflict_do_nothing()
            .returning(table_of(HashList).c.id)
        ).first()
        created = inserted is not None
        found = session.scalars(sa.select(HashList).where(HashList.name == name)).one()
        if created:
            return found, True
    wanted = {"category": category, "kind": kind, "trust": trust, "source": source, "note": note}
    differs = [
        f"{what} '{getattr(found, what)}' (not '{value}')"
        for what, value in wanted.items()
        if value is not None and getattr(found, what) != value
    ]
    if differs:
        raise HashListError(
            f"list '{name}' exists with {', '.join(differs)}; "
            "import into a new list or give the list's own values"
        )
    return found, False


def get_or_create_list(
    session: Session,
    *,
    name: str,
    category: str,
    source: str | None = None,
    trust: str | None = None,
    kind: str | None = None,
    note: str | None = None,
) -> HashList:
    return open_list(
        session, name=name, category=category, source=source, trust=trust, kind=kind, note=note
    )[0]


def change_list(
    session: Session, *, list_id: int, trust: str, note: str | None, actor: str
) -> HashList:
    """Set a list's trust and note (audited with what changed); HashListError when refused."""
    if trust not in TRUST_LEVELS:
        raise HashListError(f"trust must be one of {', '.join(TRUST_LEVELS)}")
    if note is not None and len(note) > MAX_LIST_NOTE:
        raise HashListError(f"a list's note has at most {MAX_LIST_NOTE} characters")
    found = session.get(HashList, list_id)
    if found is None:
        raise HashListError(f"there is no hash list with id {list_id}")
    changed = {
        what: [getattr(found, what), value]
        for what, value in (("trust", trust), ("note", note or None))
        if getattr(found, what) != value
    }
    for what, (_, value) in changed.items():
        setattr(found, what, value)
    if changed:
        audit.record(
            session, actor=actor, action="hashlist.changed", subject=f"list:{found.name}", **changed
        )
    return found


def _check_metadata(
    *, name: str, category: str, source: str | None, trust: str | None, kind: str | None
) -> None:
    if not name.strip() or len(name) > 120:
        raise HashListError("list name must be 1-120 characters")
    if not category:
        raise HashListError("a hash list needs a category")
    try:
        check_category(category)
    except ValueError as exc:
        raise HashListError(str(exc)) from None
    if trust is not None and trust not in TRUST_LEVELS:
        raise HashListError(f"trust must be one of {', '.join(TRUST_LEVELS)}")
    if kind is not None and kind not in LIST_KINDS:
        raise HashListError(f"kind must be one of {', '.join(LIST_KINDS)}")
    if source is not None and len(source) > MAX_SOURCE:
        raise HashListError(f"source must be at most {MAX_SOURCE} characters")


def import_rows(
    session: Session,
    rows: Iterable[HashRow | RowError],
    *,
    hash_list: HashList,
    skip_bad: bool = False,
    progress: Callable[[int], None] | None = None,
    actor: str = "cli",
) -> ImportResult:
    """Insert rows in batches; on any bad row without `skip_bad`, roll back and report them all.

    After the first bad row of an all-or-nothing import nothing more is written, but every row is
    still read so the operator gets the whole list of bad lines at once.
    """
    result = ImportResult(hash_list.name)
    writer = _BatchWriter(session)
    batch: list[tuple[object, ...]] = []
    good, now = 0, writer.stamp(utcnow())
    _open_transaction(session)
    savepoint = session.begin_nested()
    try:
        for row in rows:
            result.read += 1
            if progress is not None and result.read % PROGRESS_EVERY == 0:
                progress(result.read)
            checked = _checked(row)
            if isinstance(checked, RowError):
                result.add_error(checked)
                continue
            good += 1
            if checked.source is not None and checked.source != hash_list.source:
                result.own_sources += 1
            if result.bad and not skip_bad:
                batch.clear()
                continue
            batch.append(_values(checked, hash_list, now))
            if len(batch) >= BATCH:
                result.added += writer.write(batch)
        result.added += writer.write(batch)
    except BaseException:
        savepoint.rollback()
        raise
    if progress is not None:
        progress(result.read)
    if result.bad and not skip_bad:
        savepoint.rollback()
        result.added, result.aborted = 0, True
        return result
    savepoint.commit()
    result.present = good - result.added
    audit.record(
        session,
        actor=actor,
        action="hashlist.imported",
        subject=f"list:{hash_list.name}",
        added=result.added,
        present=result.present,
        bad_rows=result.bad,
    )
    return result


def _open_transaction(session: Session) -> None:
    """pysqlite begins its transaction only at the first write: a SAVEPOINT before that would be
    the outermost transaction, and releasing it would commit. Begin explicitly in that case."""
    connection = session.connection()
    if connection.dialect.name != "sqlite":
        return
    raw = connection.connection.dbapi_connection
    if raw is not None and not getattr(raw, "in_transaction", True):
        connection.exec_driver_sql("BEGIN")


def _checked(row: HashRow | RowError) -> HashRow | RowError:
    if isinstance(row, RowError) or not row.category:
        return row
    try:
        check_category(row.category)
    except ValueError as exc:
        return RowError(row.line, str(exc))
    return row


def _values(row: HashRow, hash_list: HashList, now: object) -> tuple[object, ...]:
    # A row's category is stored only where it differs from its list's.
    category = None if row.category == hash_list.category else row.category
    return (hash_list.id, row.hash_type, row.value, category, row.note, row.quality, now)


# The columns of a row tuple, in this order: list_id, hash_type, value, category, note, quality,
# added_at.
_SQLITE_INSERT = (
    "INSERT INTO known_hashes (list_id, hash_type, value, category, note, quality, added_at)"
    " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING"
)
_PG_STAGE = (
    "CREATE TEMPORARY TABLE IF NOT EXISTS hashlist_import (list_id integer, hash_type text,"
    " value text, category text, note text, quality integer, added_at timestamptz) ON COMMIT DROP"
)
_PG_COPY = (
    "COPY hashlist_import (list_id, hash_type, value, category, note, quality, added_at) FROM STDIN"
)
_PG_MERGE = (
    "INSERT INTO known_hashes (list_id, hash_type, value, category, note, quality, added_at)"
    " SELECT list_id, hash_type, value, category, note, quality, added_at FROM hashlist_import"
    " ON CONFLICT DO NOTHING"
)


class _BatchWriter:
    """Adds row tuples, skipping those already in their list, and counts the new ones.

    Straight to the driver, as the ORM's per-row parameter handling costs more than the database
    work: PostgreSQL COPYs into a temporary table, then one INSERT ... SELECT ... ON CONFLICT DO
    NOTHING; SQLite runs an executemany INSERT ... ON CONFLICT DO NOTHING. Either reports the rows
    it really inserted.
    """

    def __init__(self, session: Session) -> None:
        self.session = session
        self.dialect = session.get_bind().dialect
        self.staged = False

    def stamp(self, moment: datetime) -> object:
        """`added_at` as the driver takes it (for SQLite, the column type's own text form)."""
        column_type = table_of(KnownHash).c.added_at.type.dialect_impl(self.dialect)
        process = column_type.bind_processor(self.dialect)
        return process(moment) if process else moment

    def write(self, batch: list[tuple[object, ...]]) -> int:
        if not batch:
            return 0
        raw: Any = self.session.connection().connection.driver_connection
        if self.dialect.name == "postgresql":
            added = self._copy(raw, batch)
        else:
            cursor = raw.cursor()
            try:
                added = cursor.executemany(_SQLITE_INSERT, batch).rowcount
            finally:
                cursor.close()
        batch.clear()
        return int(added)

    def _copy(self, raw: Any, batch: list[tuple[object, ...]]) -> int:
        with raw.cursor() as cursor:
            if not self.staged:
                cursor.execute(_PG_STAGE)
                self.staged = True
            cursor.execute("TRUNCATE hashlist_import")
            with cursor.copy(_PG_COPY) as copy:
                for row in batch:
                    copy.write_row(row)
            cursor.execute(_PG_MERGE)
            return int(cursor.rowcount)


def listed_hashes(session: Session, *, list_name: str | None = None) -> Iterator[ListedHash]:
    """Every stored hash (of one list), streamed from the database in chunks."""
    query = (
        sa.select(
            KnownHash.hash_type,
            KnownHash.value,
            sa.func.coalesce(KnownHash.category, HashList.category),
            HashList.source,
            KnownHash.note,
            KnownHash.quality,
            HashList.name,
        )
        .join(HashList, HashList.id == KnownHash.list_id)
        .where(KnownHash.withdrawn_at.is_(None))
        .order_by(HashList.name, KnownHash.id)
    )
    if list_name is not None:
        query = query.where(HashList.name == list_name)
    for row in session.execute(query.execution_options(yield_per=5000)):
        yield ListedHash(*row)


def export(session: Session, out: TextIO, *, fmt: str = "csv", list_name: str | None = None) -> int:
    """Write hashes in a format; the number written."""
    if fmt not in WRITERS:
        raise HashListError(f"unknown format '{fmt}'; use one of {', '.join(WRITERS)}")
    if (
        list_name is not None
        and session.scalar(sa.select(HashList.id).where(HashList.name == list_name)) is None
    ):
        raise HashListError(f"there is no hash list named '{list_name}'")
    return WRITERS[fmt](out, listed_hashes(session, list_name=list_name))


def lists_with_counts(session: Session) -> list[tuple[HashList, int]]:
    """Every list with the hashes in force on it (withdrawn ones are not counted)."""
    rows = session.execute(
        sa.select(HashList, sa.func.count(KnownHash.id))
        .outerjoin(
            KnownHash, sa.and_(KnownHash.list_id == HashList.id, KnownHash.withdrawn_at.is_(None))
        )
        .group_by(HashList.id)
        .order_by(HashList.name)
    ).all()
    return [(hash_list, count) for hash_list, count in rows]


def list_summaries(session: Session) -> list[ListSummary]:
    counts = (
        sa.select(KnownHash.list_id, sa.func.count(KnownHash.id).label("n"))
        .where(KnownHash.withdrawn_at.is_(None))
        .group_by(KnownHash.list_id)
        .subquery()
    )
    rows = session.execute(
        sa.select(HashList, sa.func.coalesce(counts.c.n, 0))
        .outerjoin(counts, counts.c.list_id == HashList.id)
        .order_by(HashList.name)
    ).all()
    return [
        ListSummary(h.name, h.kind, h.category, h.trust, h.source, n, h.created_at, h.note)
        for h, n in rows
    ]


class ImportProgress:
    """Rows read and rows/s on stderr, at most once a second, only when someone is watching.

    On a terminal the line is redrawn in place; with `--progress` and no terminal (a log), each
    report is its own line, still at most one a second.
    """

    def __init__(
        self,
        *,
        enabled: bool | None = None,
        out: TextIO | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.out = out or sys.stderr
        self.tty = self.out.isatty()
        self.enabled = self.tty if enabled is None else enabled
        self.clock = clock
        self.started = self.last = clock()
        self.shown = False

    def __call__(self, rows: int) -> None:
        now = self.clock()
        if not self.enabled or now - self.last < 1.0:
            return
        self.last = now
        rate = rows / max(now - self.started, 1e-9)
        text = f"{rows:,} rows read, {rate:,.0f} rows/s"
        if self.tty:
            print(f"\r{text}\x1b[K", end="", file=self.out, flush=True)
        else:
            print(text, file=self.out, flush=True)
        self.shown = True

    def done(self) -> None:
        if self.shown and self.tty:
            print(file=self.out)
