"""Editing from the supervisor page: staff (add, role, disable/enable, password) under the rules
(only an admin manages admins, nobody disables or demotes themselves), hash-list uploads and
trust, the taxonomy's names, severities and legal bases; every change audited, every form
checked for its CSRF token, analysts refused."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from classifiers.taxonomy import SHIPPED
from tests.stack import sign_in
from triage_api.api.app import asgi_app, create_app
from triage_api.api.routes import supervise
from triage_api.config import get_settings
from triage_api.db import session_factory
from triage_api.models import ApiToken, AuditEntry, Case, HashList, KnownHash, User
from triage_api.security import add_user
from triage_api.taxonomy import taxonomy

pytestmark = pytest.mark.integration

PASSWORD = "correct horse battery"
MD5 = "098f6bcd4621d373cade4e832627b4f6"
SHA1 = "a94a8fe5ccb19ba61c4c0873d391e987982fbbd3"
SHA256 = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
GOOD_CSV = f"hash_type,hash\nmd5,{MD5}\nsha1,{SHA1}\nsha256,{SHA256}\n"
# Every form of the page, with the fields it needs (ids filled in by `_routes`).
ROUTES = (
    "/ui/supervisor/users",
    "/ui/supervisor/users/{user}/role",
    "/ui/supervisor/users/{user}/disable",
    "/ui/supervisor/users/{user}/enable",
    "/ui/supervisor/users/{user}/password",
    "/ui/supervisor/hashlists",
    "/ui/supervisor/hashlists/{list}",
    "/ui/supervisor/taxonomy/{category}",
)


@dataclass
class Staff:
    ids: dict[str, int]
    tokens: dict[str, str]

    def client(self, name: str, app: Any = None) -> TestClient:
        client = TestClient(app or create_app())
        assert sign_in(client, self.tokens[name], follow_redirects=False).status_code == 303
        return client


@pytest.fixture
def staff(database: str) -> Iterator[Staff]:
    """An analyst, a supervisor and an admin, signed in by token."""
    ids, tokens = {}, {}
    with session_factory()() as session:
        for name, role in (("aigerim", "analyst"), ("boss", "supervisor"), ("root", "admin")):
            user, tokens[name] = add_user(session, name=name, role=role)
            session.flush()
            ids[name] = user.id
        session.commit()
    yield Staff(ids, tokens)


def _post(client: TestClient, path: str, csrf: bool = True, **fields: Any) -> httpx.Response:
    files = fields.pop("files", None)
    data = {"csrf": client.cookies.get("hotline_csrf", "")} if csrf else {}
    return client.post(path, data={**data, **fields}, files=files, follow_redirects=False)


def _user(name: str) -> User | None:
    with session_factory()() as session:
        found = session.scalar(sa.select(User).where(User.name == name))
        if found is not None:
            session.expunge(found)
        return found


def _audit(action: str) -> list[tuple[str, str | None, dict[str, Any]]]:
    with session_factory()() as session:
        rows = session.execute(
            sa.select(AuditEntry.actor, AuditEntry.subject, AuditEntry.details)
            .where(AuditEntry.action == action)
            .order_by(AuditEntry.id)
        ).all()
    return [tuple(row) for row in rows]  # type: ignore[misc]


def test_a_supervisor_adds_an_analyst_who_then_signs_in(staff: Staff) -> None:
    boss = staff.client("boss")
    added = _post(boss, "/ui/supervisor/users", name="dana", role="analyst", password=PASSWORD)
    assert added.status_code == 303
    assert added.headers["location"].startswith("/ui/supervisor?done=user_added")
    page = boss.get(added.headers["location"])
    assert "User added; they sign in with the password you gave." in page.text
    assert "dana" in page.text
    assert _audit("user.added") == [("user:boss", "user:dana", {"role": "analyst"})]

    dana = TestClient(create_app())
    dana.get("/ui/login")
    signed = dana.post(
        "/ui/login",
        data={"name": "dana", "password": PASSWORD, "csrf": dana.cookies["hotline_csrf"]},
        follow_redirects=False,
    )
    assert signed.status_code == 303 and signed.headers["location"] == "/ui/queue"
    assert dana.get("/ui/queue").status_code == 200
    with session_factory()() as session:  # the API token add_user made is shown to nobody
        dana_id = session.scalar(sa.select(User.id).where(User.name == "dana"))
        api = session.scalars(
            sa.select(ApiToken).where(ApiToken.user_id == dana_id, ApiToken.expires_at.is_(None))
        ).all()
        assert api and all(token.revoked_at is not None for token in api)

    for fields, message in (
        ({"name": "erlan", "role": "boss", "password": PASSWORD}, "role must be one of"),
        ({"name": "  ", "role": "analyst", "password": PASSWORD}, "user name must be"),
        ({"name": "dana", "role": "analyst", "password": PASSWORD}, "already exists"),
        ({"name": "erlan", "role": "analyst", "password": "short"}, "12 to 200 characters"),
        ({"name": "erlan", "role": "analyst", "password": "Erlan" + " " * 10}, "ends with spaces"),
        ({"name": "erlan"}, "role must be one of"),
    ):
        refused = _post(boss, "/ui/supervisor/users", **fields)
        assert refused.status_code == 422, (fields, refused.text)
        assert message in refused.text and 'class="error"' in refused.text
    assert _user("erlan") is None
    assert len(_audit("user.added")) == 1


def test_a_supervisor_changes_a_role_and_it_counts_at_once(staff: Staff) -> None:
    boss, aigerim = staff.client("boss"), staff.client("aigerim")
    assert aigerim.get("/ui/supervisor").status_code == 403
    promoted = _post(boss, f"/ui/supervisor/users/{staff.ids['aigerim']}/role", role="supervisor")
    assert promoted.status_code == 303
    assert _user("aigerim").role == "supervisor"  # type: ignore[union-attr]
    assert aigerim.get("/ui/supervisor").status_code == 200
    _post(boss, f"/ui/supervisor/users/{staff.ids['aigerim']}/role", role="analyst")
    assert aigerim.get("/ui/supervisor").status_code == 403
    assert [(a, s, d) for a, s, d in _audit("user.role_changed")] == [
        ("user:boss", "user:aigerim", {"before": "analyst", "after": "supervisor"}),
        ("user:boss", "user:aigerim", {"before": "supervisor", "after": "analyst"}),
    ]
    unknown = _post(boss, f"/ui/supervisor/users/{staff.ids['aigerim']}/role", role="owner")
    assert unknown.status_code == 422 and "role must be one of" in unknown.text
    assert _post(boss, "/ui/supervisor/users/999999/role", role="analyst").status_code == 404
    for bad in ("abc", "0", "99999999999999999999"):
        assert _post(boss, f"/ui/supervisor/users/{bad}/role", role="analyst").status_code == 422


def test_disabling_ends_the_users_sessions_and_frees_their_case(staff: Staff) -> None:
    with session_factory()() as session:
        case = Case(
            canonical_url="http://shop.kz/",
            host="shop.kz",
            open_key="http://shop.kz/",
            stage="ready",
            band=1,
            rank_key=1.0,
            reasons=[],
        )
        session.add(case)
        session.commit()
        case_id = case.id
    aigerim, boss = staff.client("aigerim"), staff.client("boss")
    claimed = _post(aigerim, "/ui/claim")
    assert claimed.headers["location"] == f"/ui/cases/{case_id}"
    api = {"Authorization": f"Bearer {staff.tokens['aigerim']}"}
    assert boss.get("/api/v1/queue", headers=api).status_code == 200

    disabled = _post(boss, f"/ui/supervisor/users/{staff.ids['aigerim']}/disable")
    assert disabled.status_code == 303
    assert "signed out everywhere" in boss.get(disabled.headers["location"]).text
    assert aigerim.get("/ui/queue", follow_redirects=False).headers["location"] == "/ui/login"
    assert TestClient(create_app()).get("/api/v1/queue", headers=api).status_code == 401
    with session_factory()() as session:
        held = session.get(Case, case_id)
        assert held is not None and held.claimed_by is None and held.lease_until is None
        live = session.scalars(
            sa.select(ApiToken).where(
                ApiToken.user_id == staff.ids["aigerim"], ApiToken.revoked_at.is_(None)
            )
        ).all()
        assert live == []
    ((actor, subject, details),) = _audit("user.disabled")
    assert (actor, subject, details["cases_released"]) == ("user:boss", "user:aigerim", [case_id])
    assert details["tokens_revoked"] == 2  # the API token and the browser sign-in
    assert ("user:boss", f"case:{case_id}", {"held_by": "aigerim"}) in _audit("case.released")
    assert _post(boss, f"/ui/supervisor/users/{staff.ids['aigerim']}/disable").status_code == 303
    assert len(_audit("user.disabled")) == 1  # disabling twice changes nothing

    assert _post(boss, f"/ui/supervisor/users/{staff.ids['aigerim']}/enable").status_code == 303
    set_password = _post(
        boss, f"/ui/supervisor/users/{staff.ids['aigerim']}/password", password=PASSWORD
    )
    assert set_password.status_code == 303
    too_short = _post(boss, f"/ui/supervisor/users/{staff.ids['aigerim']}/password", password="x")
    assert too_short.status_code == 422 and "12 to 200 characters" in too_short.text
    again = TestClient(create_app())
    again.get("/ui/login")
    signed = again.post(
        "/ui/login",
        data={"name": "aigerim", "password": PASSWORD, "csrf": again.cookies["hotline_csrf"]},
        follow_redirects=False,
    )
    assert signed.status_code == 303 and signed.headers["location"] == "/ui/queue"
    assert [s for _, s, _ in _audit("user.enabled")] == ["user:aigerim"]
    assert [(a, s) for a, s, _ in _audit("user.password_set")] == [("user:boss", "user:aigerim")]


def test_only_an_admin_creates_or_edits_an_admin(staff: Staff) -> None:
    boss, root = staff.client("boss"), staff.client("root")
    page = boss.get("/ui/supervisor").text
    assert (
        '<option value="admin"' not in page
        and '<option value="admin"' in root.get("/ui/supervisor").text
    )
    admin_id, analyst_id = staff.ids["root"], staff.ids["aigerim"]
    for path, fields in (
        ("/ui/supervisor/users", {"name": "chief", "role": "admin", "password": PASSWORD}),
        (f"/ui/supervisor/users/{analyst_id}/role", {"role": "admin"}),
        (f"/ui/supervisor/users/{admin_id}/role", {"role": "analyst"}),
        (f"/ui/supervisor/users/{admin_id}/disable", {}),
        (f"/ui/supervisor/users/{admin_id}/password", {"password": PASSWORD}),
    ):
        refused = _post(boss, path, **fields)
        assert refused.status_code == 403, (path, refused.text)
        assert "only an admin may create, promote to, edit or disable an admin" in refused.text
    assert _user("chief") is None and _user("aigerim").role == "analyst"  # type: ignore[union-attr]
    assert not _user("root").disabled  # type: ignore[union-attr]

    added = _post(root, "/ui/supervisor/users", name="chief", role="admin", password=PASSWORD)
    assert added.status_code == 303 and _user("chief").role == "admin"  # type: ignore[union-attr]
    chief_id = _user("chief").id  # type: ignore[union-attr]
    assert _post(root, f"/ui/supervisor/users/{analyst_id}/role", role="admin").status_code == 303
    assert _post(root, f"/ui/supervisor/users/{chief_id}/disable").status_code == 303
    assert _user("chief").disabled  # type: ignore[union-attr]
    assert _post(boss, f"/ui/supervisor/users/{chief_id}/enable").status_code == 403
    assert _user("aigerim").role == "admin"  # type: ignore[union-attr]
    assert [a for a, _, _ in _audit("user.added")] == ["user:root"]


def test_nobody_disables_or_demotes_themselves(staff: Staff) -> None:
    for name, lower in (("boss", "analyst"), ("root", "supervisor")):
        client, own = staff.client(name), staff.ids[name]
        refused = _post(client, f"/ui/supervisor/users/{own}/disable")
        assert refused.status_code == 403 and "you cannot disable yourself" in refused.text
        demoted = _post(client, f"/ui/supervisor/users/{own}/role", role=lower)
        assert demoted.status_code == 403 and "cannot lower your own role" in demoted.text
        assert client.get("/ui/supervisor").status_code == 200  # still signed in, same role
        # a supervisor's own password is theirs to change
        assert _post(client, f"/ui/supervisor/users/{own}/password", password=PASSWORD).is_redirect
    assert _audit("user.disabled") == [] and _audit("user.role_changed") == []


def _routes(staff: Staff, list_id: int) -> list[str]:
    return [
        path.format(user=staff.ids["aigerim"], list=list_id, category="drugs") for path in ROUTES
    ]


def test_analysts_are_refused_and_every_form_needs_its_csrf_token(staff: Staff) -> None:
    with session_factory()() as session:
        hash_list = HashList(name="partner", category="drugs", source="x")
        session.add(hash_list)
        session.commit()
        list_id = hash_list.id
    analyst, boss, stranger = (
        staff.client("aigerim"),
        staff.client("boss"),
        TestClient(create_app()),
    )
    stranger.get("/ui/login")
    fields = {"role": "supervisor", "password": PASSWORD, "name": "x" * 10, "trust": "untrusted"}
    for path in _routes(staff, list_id):
        assert _post(analyst, path, **fields).status_code == 403, path
        assert _post(boss, path, csrf=False, **fields).status_code == 403, path
        forged = boss.post(path, data={"csrf": "y" * 43, **fields}, follow_redirects=False)
        assert forged.status_code == 403, path
        anonymous = _post(stranger, path, **fields)
        assert (anonymous.status_code, anonymous.headers.get("location")) == (303, "/ui/login")
    assert _user("aigerim").role == "analyst" and _user("xxxxxxxxxx") is None  # type: ignore[union-attr]
    with session_factory()() as session:
        assert session.scalar(sa.select(HashList.trust)) == "trusted"
        assert (
            session.scalar(
                sa.select(sa.func.count())
                .select_from(AuditEntry)
                .where(AuditEntry.action.not_in(["ui.login", "ui.login_failed"]))
            )
            == 0
        )


def _upload(client: TestClient, name: str, content: str | bytes, **fields: str) -> httpx.Response:
    body = content.encode() if isinstance(content, str) else content
    fields = {"list": "partner", "category": "drugs", **fields}
    return _post(client, "/ui/supervisor/hashlists", files={"file": (name, body)}, **fields)


def _hashes(list_name: str) -> set[str]:
    with session_factory()() as session:
        return set(
            session.scalars(
                sa.select(KnownHash.value)
                .join(HashList, HashList.id == KnownHash.list_id)
                .where(HashList.name == list_name)
            )
        )


def test_a_hash_list_file_is_imported_from_the_page(
    staff: Staff, monkeypatch: pytest.MonkeyPatch
) -> None:
    boss = staff.client("boss")
    imported = _upload(boss, "partner.csv", GOOD_CSV)
    assert imported.status_code == 303, imported.text
    location = imported.headers["location"]
    assert "done=imported&added=3&present=0&read=3" in location
    page = boss.get(location).text
    assert "Hash list imported." in page and "New hashes: <b>3</b>" in page
    assert _hashes("partner") == {MD5, SHA1, SHA256}
    with session_factory()() as session:
        made = session.scalars(sa.select(HashList).where(HashList.name == "partner")).one()
        assert (made.source, made.trust, made.kind, made.category) == (
            "partner.csv",
            "trusted",
            "known",
            "drugs",
        )
        list_id = made.id
    again = _upload(boss, "partner.csv", GOOD_CSV)
    assert "added=0&present=3" in again.headers["location"]
    assert [(a, s, d["added"]) for a, s, d in _audit("hashlist.imported")] == [
        ("user:boss", "list:partner", 3),
        ("user:boss", "list:partner", 0),
    ]

    bad_rows = _upload(boss, "more.csv", f"hash_type,hash\nmd5,zz0\nsha1,{'b' * 39}\n")
    assert bad_rows.status_code == 422
    assert "Nothing imported: 2 bad row(s) of 2" in bad_rows.text
    assert "line 2: md5 value" in bad_rows.text and "line 3:" in bad_rows.text
    for name, content, message in (
        ("more.csv", "signal_type,value\nx,y\n", "header must name"),
        ("more.csv", "", "the file is empty"),
        ("more.bin", GOOD_CSV, "cannot tell the format"),
        ("more.jsonl", b"\xff\xfe{not json\n", "Nothing imported"),
    ):
        refused = _upload(boss, name, content)
        assert refused.status_code == 422 and message in refused.text, (name, refused.text)
    assert _hashes("partner") == {MD5, SHA1, SHA256}  # the existing list lost nothing
    other = _upload(boss, "x.csv", "hash_type,hash\nmd5,zz\n", list="fresh")
    assert other.status_code == 422 and _hashes("fresh") == set()
    with session_factory()() as session:
        assert session.scalar(sa.select(HashList.id).where(HashList.name == "fresh")) is None
    mismatch = _upload(boss, "x.csv", GOOD_CSV, category="fraud")
    assert mismatch.status_code == 422 and "exists with category" in mismatch.text
    assert _upload(boss, "x.csv", GOOD_CSV, category="spam").status_code == 422
    assert _upload(boss, "x.csv", GOOD_CSV, category="").status_code == 422
    assert _upload(boss, "x.csv", GOOD_CSV, trust="sure").status_code == 422
    assert _upload(boss, "x.csv", GOOD_CSV, list="").status_code == 422
    nothing = _post(boss, "/ui/supervisor/hashlists", list="partner", category="drugs")
    assert nothing.status_code == 422 and "Choose a hash-list file" in nothing.text

    skipped = _upload(
        boss,
        "tips.csv",
        f"hash_type,hash\nmd5,{'c' * 32}\nmd5,nothex\n",
        list="tips",
        trust="untrusted",
        skip_bad="1",
    )
    assert skipped.status_code == 200 and "line 3: md5 value" in skipped.text
    assert _hashes("tips") == {"c" * 32}

    monkeypatch.setattr(supervise, "MAX_UPLOAD_BYTES", 100)
    large = _upload(boss, "big.csv", GOOD_CSV + f"md5,{'d' * 32}\n" * 5)
    assert large.status_code == 422 and "the page takes at most" in large.text
    assert "hotline hashlist import" in large.text

    changed = _post(
        boss, f"/ui/supervisor/hashlists/{list_id}", trust="untrusted", note="  from a partner "
    )
    assert changed.status_code == 303
    with session_factory()() as session:
        found = session.get(HashList, list_id)
        assert found is not None and (found.trust, found.note) == ("untrusted", "from a partner")
    assert _audit("hashlist.changed") == [
        (
            "user:boss",
            "list:partner",
            {"trust": ["trusted", "untrusted"], "note": [None, "from a partner"]},
        )
    ]
    wrong = _post(boss, f"/ui/supervisor/hashlists/{list_id}", trust="somewhat")
    assert wrong.status_code == 422 and "trust must be one of trusted, untrusted" in wrong.text
    assert _post(boss, "/ui/supervisor/hashlists/999999", trust="trusted").status_code == 404


def test_uploads_pass_the_body_limit_that_other_forms_keep(staff: Staff) -> None:
    boss = staff.client("boss", app=asgi_app())
    rows = "".join(f"md5,{i:032x}\n" for i in range(4000))  # about 150 KB, over 64 KiB
    assert _upload(boss, "large.csv", "hash_type,hash\n" + rows).status_code == 303
    assert len(_hashes("partner")) == 4000
    too_big = _post(boss, "/ui/supervisor/users", name="x" * 100_000, role="analyst")
    assert too_big.status_code == 413


def _category_form(category_id: str = "drugs", **changes: str) -> dict[str, str]:
    """The category's row as the page shows it, with some fields changed."""
    category = taxonomy()[category_id]
    fields = {
        "name_ru": category.names["ru"],
        "name_kk": category.names["kk"],
        "name_en": category.names["en"],
        "severity": f"{category.severity:g}",
        "legal_basis": category.legal_basis,
    }
    if category.legal_basis_confirmed:
        fields["legal_basis_confirmed"] = "1"
    return {**fields, **changes}


def test_the_taxonomy_is_edited_in_the_hotlines_own_copy(staff: Staff) -> None:
    shipped = SHIPPED.read_text(encoding="utf-8")
    copy = get_settings().taxonomy_copy
    assert not copy.exists() and get_settings().taxonomy_in_force() is None
    boss = staff.client("boss")
    basis = "Criminal Code of the Republic of Kazakhstan, art. 297 (checked by counsel)"
    saved = _post(
        boss,
        "/ui/supervisor/taxonomy/drugs",
        **_category_form(
            legal_basis=basis, legal_basis_confirmed="1", severity="7,5", name_en="Narcotics"
        ),
    )
    assert saved.status_code == 303 and "done=taxonomy_saved" in saved.headers["location"]
    page = boss.get("/ui/supervisor").text
    assert basis in page and "Narcotics" in page and str(copy) in page
    assert SHIPPED.read_text(encoding="utf-8") == shipped
    stored = {c["id"]: c for c in json.loads(copy.read_text(encoding="utf-8"))["categories"]}
    assert stored["drugs"]["legal_basis"] == {"text": basis, "confirmed": True}
    assert stored["drugs"]["severity"] == 7.5 and stored["drugs"]["signals"] == sorted(
        ["analyst", "hash", "text"]
    )
    assert stored["csam"]["signals"] == ["analyst", "hash"]
    assert (
        taxonomy()["drugs"].legal_basis == basis and taxonomy()["drugs"].names["en"] == "Narcotics"
    )
    assert get_settings().severities()["drugs"] == 7.5  # scoring weighs it at once
    ((actor, subject, details),) = _audit("taxonomy.changed")
    assert (actor, subject) == ("user:boss", "category:drugs")
    assert details["legal_basis"][1] == basis and details["severity"] == [7.0, 7.5]
    assert details["legal_basis_confirmed"] == [False, True]

    unchanged = _post(boss, "/ui/supervisor/taxonomy/drugs", **_category_form())
    assert "done=unchanged" in unchanged.headers["location"]
    for changes, message in (
        ({"severity": "150"}, "severity must be a number from 0 to 100"),
        ({"severity": "-1"}, "severity must be a number from 0 to 100"),
        ({"severity": "nan"}, "severity must be a number from 0 to 100"),
        ({"severity": "high"}, "Severity must be a number from 0 to 100"),
        ({"name_kk": "  "}, "needs a name in ru, kk and en"),
        ({"legal_basis": "x" * 2001}, "at most 2000 characters"),
    ):
        refused = _post(boss, "/ui/supervisor/taxonomy/drugs", **_category_form(**changes))
        assert refused.status_code == 422 and message in refused.text, (changes, refused.text)
    assert _post(boss, "/ui/supervisor/taxonomy/spam", **_category_form()).status_code == 404
    assert taxonomy()["drugs"].severity == 7.5 and len(_audit("taxonomy.changed")) == 1


def test_a_configured_taxonomy_path_is_the_copy_that_is_saved(
    staff: Staff, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mine = tmp_path / "hotline-taxonomy.json"
    data = json.loads(SHIPPED.read_text(encoding="utf-8"))
    data["note"] = "our own copy"
    mine.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    monkeypatch.setenv("HOTLINE_TAXONOMY_PATH", str(mine))
    get_settings.cache_clear()
    boss = staff.client("boss")
    saved = _post(
        boss, "/ui/supervisor/taxonomy/gambling", **_category_form("gambling", severity="9")
    )
    assert saved.status_code == 303
    stored = json.loads(mine.read_text(encoding="utf-8"))
    assert stored["note"] == "our own copy"
    assert next(c for c in stored["categories"] if c["id"] == "gambling")["severity"] == 9.0
    assert not (get_settings().resolved_data_dir / "taxonomy.json").exists()
    assert taxonomy().source == str(mine) and taxonomy()["gambling"].severity == 9.0
