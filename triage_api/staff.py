"""Managing staff from the supervisor page: add a user, change a role, disable or enable, set a
password. Every change is audited under the acting user's name.

The rules, so the hotline can neither be taken over nor lock itself out: a supervisor manages
analysts and supervisors, only an admin creates, promotes to, edits or disables an admin; nobody
disables or demotes themselves. Disabling signs the user out everywhere (every token revoked) and
gives their cases back to the queue.

Exceptions::

    StaffError          the request is not valid (unknown role, bad name or password)
    ├── StaffForbidden  the rules above forbid it to this user
    └── UnknownStaff    there is no such user
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from triage_api import audit, claims
from triage_api.models import User
from triage_api.security import (
    ROLE_RANK,
    ROLES,
    UserError,
    add_user,
    has_role,
    revoke_tokens,
    set_password,
)

__all__ = [
    "StaffError",
    "StaffForbidden",
    "UnknownStaff",
    "add_staff",
    "change_password",
    "change_role",
    "grantable_roles",
    "set_disabled",
]


class StaffError(ValueError):
    """A change to staff that cannot be made; the message says what was wrong."""


class StaffForbidden(StaffError):
    """The acting user may not make this change."""


class UnknownStaff(StaffError):
    """No user has this id."""


def grantable_roles(by: User) -> tuple[str, ...]:
    """The roles `by` may give: every role for an admin, analyst and supervisor otherwise."""
    if not has_role(by, "supervisor"):
        return ()
    return ROLES if has_role(by, "admin") else tuple(r for r in ROLES if r != "admin")


def add_staff(session: Session, *, by: User, name: str, role: str, password: str) -> User:
    """A new user who signs in with `password`. The API token `add_user` makes is revoked at
    once: it would be shown to nobody (`hotline user add` prints one to whoever runs it)."""
    _check_role(role)
    _may_touch(by, role)
    try:
        user, _token = add_user(session, name=name, role=role)
        set_password(session, user, password)
    except UserError as exc:
        raise StaffError(str(exc)) from None
    revoke_tokens(session, user)
    _audit(session, by, "user.added", user, role=role)
    return user


def change_role(session: Session, *, by: User, user_id: int, role: str) -> User:
    _check_role(role)
    user = _user(session, user_id)
    _may_touch(by, user.role)
    _may_touch(by, role)
    if user.id == by.id and ROLE_RANK[role] < ROLE_RANK[user.role]:
        raise StaffForbidden("you cannot lower your own role; ask another supervisor or admin")
    if role != user.role:
        before, user.role = user.role, role
        _audit(session, by, "user.role_changed", user, before=before, after=role)
    return user


def set_disabled(session: Session, *, by: User, user_id: int, disabled: bool) -> User:
    """Disable (sign out everywhere, give back held cases) or enable a user again."""
    user = _user(session, user_id)
    if disabled and user.id == by.id:
        raise StaffForbidden("you cannot disable yourself; ask another supervisor or admin")
    _may_touch(by, user.role)
    if user.disabled == disabled:
        return user
    user.disabled = disabled
    if disabled:
        tokens = revoke_tokens(session, user)
        freed = claims.release_held(session, user, by=by)
        _audit(session, by, "user.disabled", user, tokens_revoked=tokens, cases_released=freed)
    else:
        _audit(session, by, "user.enabled", user, has_password=bool(user.password_hash))
    return user


def change_password(session: Session, *, by: User, user_id: int, password: str) -> User:
    """Set a user's sign-in password; someone else's other sign-ins end with it."""
    user = _user(session, user_id)
    _may_touch(by, user.role)
    try:
        set_password(session, user, password)
    except UserError as exc:
        raise StaffError(str(exc)) from None
    ended = 0 if user.id == by.id else revoke_tokens(session, user, browser_only=True)
    _audit(session, by, "user.password_set", user, sign_ins_ended=ended)
    return user


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise StaffError(f"role must be one of {', '.join(ROLES)}, not '{role[:40]}'")


def _may_touch(by: User, role: str) -> None:
    if not has_role(by, "supervisor"):
        raise StaffForbidden("only a supervisor or an admin manages staff")
    if role == "admin" and not has_role(by, "admin"):
        raise StaffForbidden("only an admin may create, promote to, edit or disable an admin")


def _user(session: Session, user_id: int) -> User:
    user = session.scalar(sa.select(User).where(User.id == user_id))
    if user is None:
        raise UnknownStaff(f"there is no user with id {user_id}")
    return user


def _audit(session: Session, by: User, action: str, user: User, **details: object) -> None:
    audit.record(
        session, actor=f"user:{by.name}", action=action, subject=f"user:{user.name}", **details
    )
