"""The supervisor page and its forms: staff (add, change role, disable or enable, set a password),
hash lists (import an uploaded file into a new or existing list; trust and note) and the
taxonomy (names, severity, legal basis of each category).

Supervisors and admins only (analysts get 403, strangers the sign-in page); the staff rules are
in `triage_api/staff.py`. Every POST checks the CSRF token first and is audited under the acting
user; it answers with a redirect to the page and a short message, or the page again with the
error: 422 for bad input, 403 when the rules forbid it, 404 for an unknown user or list.
"""

from __future__ import annotations

from pathlib import PurePath
from typing import IO, Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, File, Form, HTTPException, Request, UploadFile, status
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from classifiers.hashlist import MAX_SOURCE, HashListFormatError
from classifiers.hashlist_formats import FORMATS, detect_format, read_rows
from classifiers.taxonomy import CATEGORY_IDS, TaxonomyError
from triage_api import staff, wellbeing
from triage_api.api.deps import SessionDep
from triage_api.api.routes.ui import CsrfField, _page, _supervisor, _supervisor_poster, _to
from triage_api.config import get_settings
from triage_api.hashlists import (
    LIST_KINDS,
    TRUST_LEVELS,
    HashListError,
    ImportResult,
    change_list,
    import_rows,
    lists_with_counts,
    open_list,
)
from triage_api.models import HashList, User
from triage_api.taxonomy import edit_category, taxonomy

router = APIRouter(prefix="/ui/supervisor", include_in_schema=False)

UPLOAD_PATH = "/ui/supervisor/hashlists"
MAX_UPLOAD_BYTES = 50 * 1024 * 1024
SHOWN_ROW_ERRORS = 50
# ?done=… → the message the page shows; only these, so a link cannot put words on the page.
DONE = {
    "user_added": "User added; they sign in with the password you gave.",
    "role_changed": "Role changed.",
    "user_disabled": "User disabled: signed out everywhere, their cases are back in the queue.",
    "user_enabled": "User enabled.",
    "password_set": "Password set.",
    "imported": "Hash list imported.",
    "list_changed": "Hash list changed.",
    "taxonomy_saved": "Taxonomy saved.",
    "unchanged": "Nothing changed.",
}
IMPORT_COUNTS = ("added", "present", "read")

DbId = Annotated[int, PathParam(ge=1, le=2**31 - 1)]
Text = Annotated[str, Form(max_length=500)]
LongText = Annotated[str, Form(max_length=4000)]


@router.get("", response_class=HTMLResponse)
def supervisor_page(request: Request, session: SessionDep, done: str = "") -> Response:
    user = _supervisor(request, session)
    if isinstance(user, Response):
        return user
    counts = {name: _count(request.query_params.get(name)) for name in IMPORT_COUNTS}
    return _render(
        request, session, user, flash=DONE.get(done), counts=counts if done == "imported" else None
    )


@router.post("/users")
def add_user(
    request: Request,
    session: SessionDep,
    form_csrf: CsrfField = "",
    name: Text = "",
    role: Text = "",
    password: Text = "",
) -> Response:
    user = _supervisor_poster(request, session, form_csrf)
    if isinstance(user, Response):
        return user
    try:
        staff.add_staff(session, by=user, name=name, role=role, password=password)
        session.flush()
    except staff.StaffError as exc:
        return _refused(request, session, user, exc)
    except IntegrityError:  # added by someone else between the check and the insert
        return _refused(request, session, user, staff.StaffError(f"user '{name}' already exists"))
    return _done("user_added")


@router.post("/users/{user_id}/role")
def change_role(
    user_id: DbId, request: Request, session: SessionDep, form_csrf: CsrfField = "", role: Text = ""
) -> Response:
    user = _supervisor_poster(request, session, form_csrf)
    if isinstance(user, Response):
        return user
    try:
        staff.change_role(session, by=user, user_id=user_id, role=role)
    except staff.StaffError as exc:
        return _refused(request, session, user, exc)
    return _done("role_changed")


@router.post("/users/{user_id}/disable")
def disable_user(
    user_id: DbId, request: Request, session: SessionDep, form_csrf: CsrfField = ""
) -> Response:
    return _set_disabled(request, session, form_csrf, user_id, disabled=True)


@router.post("/users/{user_id}/enable")
def enable_user(
    user_id: DbId, request: Request, session: SessionDep, form_csrf: CsrfField = ""
) -> Response:
    return _set_disabled(request, session, form_csrf, user_id, disabled=False)


def _set_disabled(
    request: Request, session: Session, form_csrf: str, user_id: int, *, disabled: bool
) -> Response:
    user = _supervisor_poster(request, session, form_csrf)
    if isinstance(user, Response):
        return user
    try:
        staff.set_disabled(session, by=user, user_id=user_id, disabled=disabled)
    except staff.StaffError as exc:
        return _refused(request, session, user, exc)
    return _done("user_disabled" if disabled else "user_enabled")


@router.post("/users/{user_id}/password")
def set_password(
    user_id: DbId,
    request: Request,
    session: SessionDep,
    form_csrf: CsrfField = "",
    password: Text = "",
) -> Response:
    user = _supervisor_poster(request, session, form_csrf)
    if isinstance(user, Response):
        return user
    try:
        staff.change_password(session, by=user, user_id=user_id, password=password)
    except staff.StaffError as exc:
        return _refused(request, session, user, exc)
    return _done("password_set")


@router.post("/hashlists")
def import_hash_list(
    request: Request,
    session: SessionDep,
    form_csrf: CsrfField = "",
    upload: Annotated[UploadFile | None, File(alias="file")] = None,
    list_name: Annotated[str, Form(alias="list", max_length=500)] = "",
    category: Text = "",
    kind: Text = "",
    trust: Text = "",
    source: Text = "",
    fmt: Annotated[str, Form(alias="format", max_length=20)] = "auto",
    skip_bad: Text = "",
) -> Response:
    """Import an uploaded hash-list file as `hotline hashlist import` does: all or nothing
    unless bad rows are to be skipped; a new list takes the file's name as its source."""
    user = _supervisor_poster(request, session, form_csrf)
    if isinstance(user, Response):
        return user
    if upload is None or not upload.filename:
        return _invalid(request, session, user, "Choose a hash-list file to upload.")
    size = _size(upload.file)
    if size > MAX_UPLOAD_BYTES:
        return _invalid(
            request,
            session,
            user,
            f"The file has {size / 2**20:.1f} MB; the page takes at most "
            f"{MAX_UPLOAD_BYTES // 2**20} MB. Import larger files with `hotline hashlist import`.",
        )
    filename = PurePath(upload.filename).name
    try:
        fmt = _format(fmt, filename)
        hash_list, created = open_list(
            session,
            name=list_name.strip(),
            category=category,
            source=source.strip() or None,
            trust=trust or None,
            kind=kind or None,
            fallback_source=filename[:MAX_SOURCE],
        )
        result = import_rows(
            session,
            read_rows(upload.file, fmt),
            hash_list=hash_list,
            skip_bad=bool(skip_bad),
            actor=f"user:{user.name}",
        )
    except (HashListFormatError, HashListError) as exc:
        return _invalid(request, session, user, f"{filename}: {exc}")
    report = _report(result, filename, created)
    if result.aborted:
        message = (
            f"Nothing imported: {result.bad} bad row(s) of {result.read} in {filename}. "
            "Fix them, or tick “skip bad rows” to import the good ones."
        )
        return _invalid(request, session, user, message, report=report)
    if result.bad:
        return _render(request, session, user, flash=DONE["imported"], report=report)
    counts = "&".join(f"{name}={getattr(result, name)}" for name in IMPORT_COUNTS)
    return _to(f"/ui/supervisor?done=imported&{counts}#hash-lists")


@router.post("/hashlists/{list_id}")
def change_hash_list(
    list_id: DbId,
    request: Request,
    session: SessionDep,
    form_csrf: CsrfField = "",
    trust: Text = "",
    note: LongText = "",
) -> Response:
    user = _supervisor_poster(request, session, form_csrf)
    if isinstance(user, Response):
        return user
    if session.get(HashList, list_id) is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no hash list {list_id}")
    try:
        change_list(
            session,
            list_id=list_id,
            trust=trust,
            note=note.strip() or None,
            actor=f"user:{user.name}",
        )
    except HashListError as exc:
        return _invalid(request, session, user, str(exc))
    return _done("list_changed", "hash-lists")


@router.post("/taxonomy/{category_id}")
def edit_taxonomy(
    category_id: Annotated[str, PathParam(max_length=40)],
    request: Request,
    session: SessionDep,
    form_csrf: CsrfField = "",
    name_ru: Text = "",
    name_kk: Text = "",
    name_en: Text = "",
    severity: Text = "",
    legal_basis: LongText = "",
    legal_basis_confirmed: Text = "",
) -> Response:
    """Save one category in the hotline's copy of the taxonomy (never the shipped file)."""
    user = _supervisor_poster(request, session, form_csrf)
    if isinstance(user, Response):
        return user
    if category_id not in CATEGORY_IDS:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no category {category_id[:40]!r}")
    try:
        weight = float(severity.strip().replace(",", "."))
    except ValueError:
        return _invalid(request, session, user, "Severity must be a number from 0 to 100.")
    try:
        changed = edit_category(
            session,
            category_id,
            actor=f"user:{user.name}",
            names={"ru": name_ru, "kk": name_kk, "en": name_en},
            severity=weight,
            legal_basis=legal_basis,
            confirmed=bool(legal_basis_confirmed),
        )
    except TaxonomyError as exc:
        return _invalid(request, session, user, f"{category_id}: {exc}")
    except OSError as exc:
        session.rollback()
        message = f"The taxonomy could not be saved ({exc.strerror or exc}); nothing changed."
        return _render(request, session, user, error=message, status_code=500)
    return _done("taxonomy_saved" if changed else "unchanged", "taxonomy")


def _done(key: str, anchor: str = "staff") -> Response:
    return _to(f"/ui/supervisor?done={key}#{anchor}")


def _refused(request: Request, session: Session, user: User, exc: staff.StaffError) -> Response:
    code = status.HTTP_422_UNPROCESSABLE_CONTENT
    if isinstance(exc, staff.StaffForbidden):
        code = status.HTTP_403_FORBIDDEN
    elif isinstance(exc, staff.UnknownStaff):
        code = status.HTTP_404_NOT_FOUND
    return _invalid(request, session, user, str(exc), status_code=code)


def _invalid(
    request: Request,
    session: Session,
    user: User,
    message: str,
    *,
    status_code: int = status.HTTP_422_UNPROCESSABLE_CONTENT,
    report: dict[str, Any] | None = None,
) -> Response:
    """Undo whatever the request wrote, then show the page with the error."""
    session.rollback()
    return _render(request, session, user, error=message, status_code=status_code, report=report)


def _render(
    request: Request,
    session: Session,
    user: User,
    *,
    flash: str | None = None,
    counts: dict[str, int] | None = None,
    error: str | None = None,
    report: dict[str, Any] | None = None,
    status_code: int = 200,
) -> Response:
    context = {
        "user": user,
        "users": session.scalars(sa.select(User).order_by(User.name)).all(),
        "exposure_by_analyst": wellbeing.exposure_by_analyst(session),
        "hash_lists": lists_with_counts(session),
        "taxonomy": taxonomy(),
        "taxonomy_copy": get_settings().taxonomy_copy,
        "grantable": staff.grantable_roles(user),
        "trust_levels": TRUST_LEVELS,
        "list_kinds": LIST_KINDS,
        "formats": FORMATS,
        "max_upload_mb": MAX_UPLOAD_BYTES // 2**20,
        "flash": flash,
        "counts": counts,
        "error": error,
        "report": report,
    }
    return _page(request, "supervisor.html", context, status_code, session=session)


def _size(stream: IO[bytes]) -> int:
    stream.seek(0, 2)
    size = stream.tell()
    stream.seek(0)
    return size


def _format(asked: str, filename: str) -> str:
    if asked in FORMATS:
        return asked
    if asked not in ("", "auto"):
        raise HashListFormatError(f"unknown format '{asked[:20]}'; use {', '.join(FORMATS)}")
    try:
        return detect_format(filename)[0]
    except HashListFormatError:
        raise HashListFormatError(
            "cannot tell the format from the file's extension (.csv, .jsonl, .ndjson, .txt, "
            f".te, .hma); choose {', '.join(FORMATS)}"
        ) from None


def _report(result: ImportResult, filename: str, created: bool) -> dict[str, Any]:
    return {
        "file": filename,
        "list": result.list_name,
        "created": created and not result.aborted,
        "read": result.read,
        "added": result.added,
        "present": result.present,
        "bad": result.bad,
        "aborted": result.aborted,
        "errors": result.errors[:SHOWN_ROW_ERRORS],
    }


def _count(value: str | None) -> int:
    return int(value) if value and value.isdigit() and len(value) < 12 else 0
