"""Importing and exporting hash lists in the database.

An import is all-or-nothing unless the caller asks to skip bad rows: a list is never left
half-imported without the operator being told which lines were wrong.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TextIO

import sqlalchemy as sa
from sqlalchemy.orm import Session

from classifiers.hashlist import HashRow, RowError, read_csv
from triage_api import audit
from triage_api.models import HashList, KnownHash, utcnow
from triage_api.sqlutil import insert_ignore
from triage_api.taxonomy import check_category

BATCH = 2000
TRUST_LEVELS = ("trusted", "untrusted")


@dataclass
class ImportResult:
    list_name: str
    read: int = 0
    added: int = 0
    errors: list[RowError] = field(default_factory=list)
    aborted: bool = False


class HashListError(ValueError):
    """The import cannot start (unknown category, trust level, bad file)."""


def get_or_create_list(
    session: Session, *, name: str, category: str, source: str = "", trust: str = "trusted"
) -> HashList:
    try:
        check_category(category)
    except ValueError as exc:
        raise HashListError(str(exc)) from None
    if not category:
        raise HashListError("a hash list needs a category")
    if trust not in TRUST_LEVELS:
        raise HashListError(f"trust must be one of {', '.join(TRUST_LEVELS)}")
    if not name.strip() or len(name) > 120:
        raise HashListError("list name must be 1-120 characters")
    found = session.scalar(sa.select(HashList).where(HashList.name == name))
    if found is not None:
        if found.category != category:
            raise HashListError(f"list '{name}' exists with category '{found.category}'")
        return found
    hash_list = HashList(name=name, category=category, source=source, trust=trust)
    session.add(hash_list)
    session.flush()
    return hash_list


def import_rows(
    session: Session,
    rows: Iterable[HashRow | RowError],
    *,
    hash_list: HashList,
    skip_bad: bool = False,
    progress: Callable[[int], None] | None = None,
) -> ImportResult:
    """Insert rows in batches; on any bad row without `skip_bad`, roll back and report them all."""
    result = ImportResult(hash_list.name)
    batch: list[dict[str, object]] = []
    savepoint = session.begin_nested()
    for row in rows:
        result.read += 1
        if isinstance(row, RowError):
            result.errors.append(row)
            continue
        if row.category:
            try:
                check_category(row.category)
            except ValueError as exc:
                result.errors.append(RowError(row.line, str(exc)))
                continue
        batch.append(
            {
                "list_id": hash_list.id,
                "hash_type": row.hash_type,
                "value": row.value,
                "category": row.category,
                "note": row.note,
                "added_at": utcnow(),
            }
        )
        if len(batch) >= BATCH:
            result.added += _flush(session, batch)
            if progress:
                progress(result.read)
    result.added += _flush(session, batch)
    if result.errors and not skip_bad:
        savepoint.rollback()
        result.added, result.aborted = 0, True
        return result
    savepoint.commit()
    audit.record(
        session,
        actor="cli",
        action="hashlist.imported",
        subject=f"list:{hash_list.name}",
        added=result.added,
        bad_rows=len(result.errors),
    )
    return result


def import_csv(session: Session, stream: TextIO, **options: object) -> ImportResult:
    return import_rows(session, read_csv(stream), **options)  # type: ignore[arg-type]


def _flush(session: Session, batch: list[dict[str, object]]) -> int:
    if not batch:
        return 0
    before = _count(session, int(batch[0]["list_id"]))  # type: ignore[call-overload]
    insert_ignore(session, KnownHash, batch)
    added = _count(session, int(batch[0]["list_id"])) - before  # type: ignore[call-overload]
    batch.clear()
    return added


def _count(session: Session, list_id: int) -> int:
    return (
        session.scalar(sa.select(sa.func.count(KnownHash.id)).where(KnownHash.list_id == list_id))
        or 0
    )


def export_csv(session: Session, out: TextIO, *, list_name: str | None = None) -> int:
    writer = csv.writer(out)
    writer.writerow(["hash_type", "hash", "category", "list", "note"])
    query = (
        sa.select(KnownHash, HashList)
        .join(HashList, HashList.id == KnownHash.list_id)
        .order_by(HashList.name, KnownHash.id)
    )
    if list_name:
        query = query.where(HashList.name == list_name)
    count = 0
    for known, hash_list in session.execute(query).yield_per(5000):
        writer.writerow(
            [
                known.hash_type,
                known.value,
                known.category or hash_list.category,
                hash_list.name,
                known.note or "",
            ]
        )
        count += 1
    return count
