"""Web sign-in: argon2id passwords, a sign-in token per session that sign-out revokes, throttled
attempts, and the CLI that sets a password without it ever being an argument."""

from __future__ import annotations

import io
from collections.abc import Iterator

import httpx
import pytest
import sqlalchemy as sa

from tests.stack import Stack
from triage_api import cli
from triage_api.db import session_factory
from triage_api.models import ApiToken, User
from triage_api.security import UserError, add_user, check_password, set_password

pytestmark = pytest.mark.integration

PASSWORD = "correct horse battery"


def test_passwords_are_argon2_and_checked(database: str) -> None:
    with session_factory()() as session:
        user, _ = add_user(session, name="aigerim", role="analyst")
        long_name, _ = add_user(session, name="aigerim.analyst", role="analyst")
        for weak in ("short", " padded password ", "x" * 201):
            with pytest.raises(UserError):
                set_password(session, user, weak)
        with pytest.raises(UserError):
            set_password(session, long_name, "Aigerim.Analyst")
        set_password(session, user, PASSWORD)
        session.commit()
        assert user.password_hash and user.password_hash.startswith("$argon2id$")
        assert PASSWORD not in user.password_hash
        assert check_password(session, "aigerim", PASSWORD) is user
        assert check_password(session, "aigerim", PASSWORD + "!") is None
        assert check_password(session, "nobody", PASSWORD) is None
        user.disabled = True
        assert check_password(session, "aigerim", PASSWORD) is None


def test_the_cli_reads_the_password_from_stdin(
    database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with session_factory()() as session:
        add_user(session, name="daniyar", role="analyst")
        session.commit()
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    assert cli.main(["user", "password", "daniyar"]) == 0
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    assert cli.main(["user", "password", "daniyar"]) == 2
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    assert cli.main(["user", "password", "nobody"]) == 2
    with session_factory()() as session:
        assert check_password(session, "daniyar", PASSWORD) is not None


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    running = Stack(tmp_path_factory.mktemp("sign-in"), host_map={})
    running.env["HOTLINE_LOGIN_ATTEMPTS"] = "4"
    running.start()
    try:
        yield running
    finally:
        running.stop()


def _form(client: httpx.Client, **fields: str) -> httpx.Response:
    client.get("/ui/login")
    return client.post("/ui/login", data={**fields, "csrf": client.cookies["hotline_csrf"]})


def test_a_session_of_its_own_revoked_at_sign_out(stack: Stack) -> None:
    stack.add_user("saule", "analyst")
    stack.cli("user", "password", "saule", stdin=PASSWORD + "\n")
    with httpx.Client(base_url=stack.base) as client:
        assert _form(client, name="saule", password="wrong password!").status_code == 401
        signed = _form(client, name="saule", password=PASSWORD)
        assert signed.status_code == 303
        cookie = client.cookies["hotline_session"]
        assert cookie.startswith("hls_")  # a sign-in token, not the user's API token
        assert client.get("/ui/queue").status_code == 200
        out = client.post("/ui/logout", data={"csrf": client.cookies["hotline_csrf"]})
        assert out.status_code == 303
    replay = httpx.get(f"{stack.base}/ui/queue", cookies={"hotline_session": cookie})
    assert replay.status_code == 303 and replay.headers["location"] == "/ui/login"
    engine = sa.create_engine(stack.db_url)
    with engine.connect() as connection:
        row = connection.execute(
            sa.select(ApiToken.expires_at, ApiToken.revoked_at)
            .join(User, User.id == ApiToken.user_id)
            .where(User.name == "saule", ApiToken.expires_at.is_not(None))
        ).one()
    engine.dispose()
    assert row.expires_at is not None and row.revoked_at is not None


def test_attempts_are_throttled(stack: Stack) -> None:
    stack.add_user("timur", "analyst")
    stack.cli("user", "password", "timur", stdin=PASSWORD + "\n")
    # Successful sign-ins do not count: a shift behind one office address signs in freely.
    with httpx.Client(base_url=stack.base, headers={"X-Forwarded-For": "203.0.113.8"}) as client:
        codes = [_form(client, name="timur", password=PASSWORD).status_code for _ in range(6)]
        assert codes == [303] * 6
    with httpx.Client(base_url=stack.base, headers={"X-Forwarded-For": "203.0.113.9"}) as client:
        codes = [
            _form(client, name="timur", password=f"guess number {i}").status_code for i in range(4)
        ]
        assert codes == [401] * 4
        # The right password is refused too once the name is over its attempts.
        blocked = _form(client, name="timur", password=PASSWORD)
        assert blocked.status_code == 429 and "Too many attempts" in blocked.text
