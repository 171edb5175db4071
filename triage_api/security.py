"""Staff identity: API tokens (random, shown once, stored only as sha256), passwords (argon2id),
browser sessions (a token of their own per sign-in, expiring, revoked at sign-out) and roles."""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta
from functools import cache

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.orm import Session

from triage_api.models import ApiToken, User

ROLES = ("analyst", "supervisor", "admin")
ROLE_RANK = {role: rank for rank, role in enumerate(ROLES)}
MIN_PASSWORD = 12
MAX_PASSWORD = 200
SESSION_HOURS = 12
_HASHER = PasswordHasher()  # argon2id with the library's current recommended parameters


class UserError(ValueError):
    """A user could not be created as asked."""


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def add_user(session: Session, *, name: str, role: str) -> tuple[User, str]:
    """Create a user with a fresh API token; the token is returned once and never stored."""
    name = name.strip()
    if role not in ROLES:
        raise UserError(f"role must be one of {', '.join(ROLES)}, not '{role}'")
    if not name or len(name) > 120 or any(not c.isprintable() for c in name):
        raise UserError("user name must be 1-120 printable characters")
    if session.scalar(sa.select(User.id).where(User.name == name)) is not None:
        raise UserError(f"user '{name}' already exists")
    user = User(name=name, role=role)
    session.add(user)
    session.flush()
    return user, issue_token(session, user)


def issue_token(session: Session, user: User) -> str:
    token = "hlt_" + secrets.token_urlsafe(32)
    session.add(ApiToken(user_id=user.id, token_hash=hash_token(token)))
    return token


def user_for_token(session: Session, token: str) -> User | None:
    if not token or len(token) > 200:
        return None
    now = datetime.now(UTC)
    row = session.execute(
        sa.select(ApiToken, User)
        .join(User, User.id == ApiToken.user_id)
        .where(ApiToken.token_hash == hash_token(token), ApiToken.revoked_at.is_(None))
    ).first()
    if row is None or row.User.disabled:
        return None
    if row.ApiToken.expires_at is not None and row.ApiToken.expires_at <= now:
        return None
    row.ApiToken.last_used_at = now
    return row.User


@cache
def _dummy_hash() -> str:
    """What an unknown name is checked against, so it costs as much as a wrong password; made
    on first use, not when every CLI command and worker imports this module."""
    return _HASHER.hash("never a password of anyone's")


def set_password(session: Session, user: User, password: str) -> None:
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise UserError(f"a password has {MIN_PASSWORD} to {MAX_PASSWORD} characters")
    if password.strip() != password or password.casefold() == user.name.casefold():
        raise UserError("a password neither is the user's name nor starts or ends with spaces")
    user.password_hash = _HASHER.hash(password)


def check_password(session: Session, name: str, password: str) -> User | None:
    """The active user with this name and password, else None (same work either way)."""
    user = session.scalar(sa.select(User).where(User.name == name.strip()))
    stored = user.password_hash if user is not None and user.password_hash else _dummy_hash()
    try:
        _HASHER.verify(stored, password[:MAX_PASSWORD])
    except (VerificationError, InvalidHashError):
        return None
    if user is None or user.disabled or not user.password_hash:
        return None
    if _HASHER.check_needs_rehash(user.password_hash):
        user.password_hash = _HASHER.hash(password)
    return user


def open_browser_session(session: Session, user: User) -> str:
    """A token for one sign-in: the cookie holds it, never the user's API token."""
    token = "hls_" + secrets.token_urlsafe(32)
    expires = datetime.now(UTC) + timedelta(hours=SESSION_HOURS)
    session.add(ApiToken(user_id=user.id, token_hash=hash_token(token), expires_at=expires))
    return token


def close_browser_session(session: Session, token: str) -> None:
    """Revoke a sign-in's token (API tokens are not touched: they are not `hls_`)."""
    if token.startswith("hls_"):
        session.execute(
            sa.update(ApiToken)
            .where(ApiToken.token_hash == hash_token(token), ApiToken.revoked_at.is_(None))
            .values(revoked_at=datetime.now(UTC))
        )


def revoke_tokens(session: Session, user: User, *, browser_only: bool = False) -> int:
    """Revoke the user's live tokens: sign-ins only, or their API tokens too; how many."""
    query = sa.update(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
    if browser_only:
        query = query.where(ApiToken.expires_at.is_not(None))
    revoked = session.execute(
        query.values(revoked_at=datetime.now(UTC)).execution_options(synchronize_session=False)
    )
    return int(getattr(revoked, "rowcount", 0) or 0)


def has_role(user: User, minimum: str) -> bool:
    return ROLE_RANK.get(user.role, -1) >= ROLE_RANK[minimum]
