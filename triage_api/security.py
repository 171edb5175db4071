"""API tokens and roles: tokens are random, shown once, and stored only as sha256."""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from triage_api.models import ApiToken, User

ROLES = ("analyst", "supervisor", "admin")
ROLE_RANK = {role: rank for rank, role in enumerate(ROLES)}


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
    row = session.execute(
        sa.select(ApiToken, User)
        .join(User, User.id == ApiToken.user_id)
        .where(ApiToken.token_hash == hash_token(token), ApiToken.revoked_at.is_(None))
    ).first()
    if row is None or row.User.disabled:
        return None
    row.ApiToken.last_used_at = datetime.now(UTC)
    return row.User


def has_role(user: User, minimum: str) -> bool:
    return ROLE_RANK.get(user.role, -1) >= ROLE_RANK[minimum]
