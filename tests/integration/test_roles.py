"""Every API endpoint against every role: anonymous callers get 401, staff below the endpoint's
role 403, and staff at or above it get through (to a 2xx, 404 or 422 of the endpoint itself).
The table must name every endpoint the app serves, so a new one cannot skip this test; the
supervisor page's forms have a table of their own."""

from __future__ import annotations

import importlib
import pkgutil

import httpx
import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from tests.stack import sign_in
from triage_api.api import routes
from triage_api.api.app import create_app
from triage_api.db import session_factory
from triage_api.security import ROLES, add_user

pytestmark = pytest.mark.integration

PUBLIC = "public"
MINIMUM = {
    ("POST", "/api/v1/reports"): PUBLIC,
    ("GET", "/api/v1/reports/{tracking_code}"): PUBLIC,
    ("GET", "/api/v1/healthz"): PUBLIC,
    ("GET", "/api/v1/metrics"): PUBLIC,
    ("GET", "/api/v1/queue"): "analyst",
    ("GET", "/api/v1/cases/{case_id}"): "analyst",
    ("GET", "/api/v1/evidence/{sha256}"): "analyst",
    ("POST", "/api/v1/evidence/{sha256}/reveal"): "analyst",
    ("POST", "/api/v1/queue/claim"): "analyst",
    ("POST", "/api/v1/cases/{case_id}/renew"): "analyst",
    ("POST", "/api/v1/cases/{case_id}/release"): "analyst",
    ("POST", "/api/v1/cases/{case_id}/decision"): "analyst",
    ("POST", "/api/v1/cases/{case_id}/reassign"): "supervisor",
    ("POST", "/api/v1/cases/{case_id}/revision"): "supervisor",
    ("GET", "/api/v1/cases/{case_id}/decisions"): "analyst",
    ("GET", "/api/v1/cases/{case_id}/takedown"): "analyst",
    ("POST", "/api/v1/cases/{case_id}/notices"): "analyst",
    ("POST", "/api/v1/notices/{notice_id}"): "analyst",
    ("POST", "/api/v1/notices/{notice_id}/send"): "analyst",
    ("POST", "/api/v1/notices/{notice_id}/replies"): "analyst",
    ("POST", "/api/v1/sweeps/{sweep_id}/stop"): "supervisor",
    ("GET", "/api/v1/hashlists"): "supervisor",
    ("GET", "/api/v1/users"): "admin",
    ("GET", "/api/v1/cases/{case_id}/package"): "supervisor",
    ("GET", "/api/v1/forwarding/partner"): "supervisor",
    ("GET", "/api/v1/sweeps"): "analyst",
    ("GET", "/api/v1/sweeps/{sweep_id}"): "analyst",
}
FILL = {
    "{case_id}": "999999",
    "{notice_id}": "999999",
    "{sweep_id}": "999999",
    "{sha256}": "a" * 64,
    "{tracking_code}": "x" * 20,
}


def _url(path: str) -> str:
    for name, value in FILL.items():
        path = path.replace(name, value)
    return path


def test_the_table_names_every_endpoint() -> None:
    served = {
        (method.upper(), path)
        for path, operations in create_app().openapi()["paths"].items()
        for method in operations
    }
    assert served == set(MINIMUM)


@pytest.mark.parametrize(("method", "path"), sorted(MINIMUM))
def test_each_role_on_each_endpoint(database: str, method: str, path: str) -> None:
    with session_factory()() as session:
        tokens = {role: add_user(session, name=f"{role}-x", role=role)[1] for role in ROLES}
        session.commit()
    client = TestClient(create_app())
    minimum = MINIMUM[(method, path)]
    anonymous = client.request(method, _url(path), json={})
    if minimum == PUBLIC:
        assert anonymous.status_code not in (401, 403), anonymous.text
        return
    assert anonymous.status_code == 401
    rank = ROLES.index(minimum)
    for role, token in tokens.items():
        answer = client.request(
            method, _url(path), json={}, headers={"Authorization": f"Bearer {token}"}
        )
        if ROLES.index(role) < rank:
            assert answer.status_code == 403, (role, answer.text)
        else:
            assert answer.status_code not in (401, 403, 500), (
                role,
                answer.status_code,
                answer.text,
            )


# The supervisor page and its forms: not in the API schema, so found among the app's routes. A
# browser signs in with a cookie, so strangers get the sign-in page instead of 401.
UI_MINIMUM = {
    ("GET", "/ui/supervisor"): "supervisor",
    ("POST", "/ui/supervisor/users"): "supervisor",
    ("POST", "/ui/supervisor/users/{user_id}/role"): "supervisor",
    ("POST", "/ui/supervisor/users/{user_id}/disable"): "supervisor",
    ("POST", "/ui/supervisor/users/{user_id}/enable"): "supervisor",
    ("POST", "/ui/supervisor/users/{user_id}/password"): "supervisor",
    ("POST", "/ui/supervisor/hashlists"): "supervisor",
    ("POST", "/ui/supervisor/hashlists/{list_id}"): "supervisor",
    ("POST", "/ui/supervisor/taxonomy/{category_id}"): "supervisor",
}
UI_FILL = {"{user_id}": "999999", "{list_id}": "999999", "{category_id}": "drugs"}


def test_the_ui_table_names_every_supervisor_form() -> None:
    """Every router module's routes (the app includes its routers lazily)."""
    modules = [
        importlib.import_module(f"{routes.__name__}.{info.name}")
        for info in pkgutil.iter_modules(routes.__path__)
    ]
    served = {
        (method, route.path)
        for module in modules
        for route in getattr(getattr(module, "router", None), "routes", [])
        if isinstance(route, APIRoute) and route.path.startswith("/ui/supervisor")
        for method in route.methods
    }
    assert served == set(UI_MINIMUM)


@pytest.mark.parametrize(("method", "path"), sorted(UI_MINIMUM))
def test_each_role_on_each_supervisor_form(database: str, method: str, path: str) -> None:
    with session_factory()() as session:
        tokens = {role: add_user(session, name=f"{role}-x", role=role)[1] for role in ROLES}
        session.commit()
    url = path
    for name, value in UI_FILL.items():
        url = url.replace(name, value)

    def send(client: TestClient) -> httpx.Response:
        form = {"csrf": client.cookies["hotline_csrf"]} if method == "POST" else None
        return client.request(method, url, data=form, follow_redirects=False)

    stranger = TestClient(create_app())
    stranger.get("/ui/login")
    anonymous = send(stranger)
    assert (anonymous.status_code, anonymous.headers.get("location")) == (303, "/ui/login")
    rank = ROLES.index(UI_MINIMUM[(method, path)])
    for role, token in tokens.items():
        client = TestClient(create_app())
        sign_in(client, token)
        answer = send(client)
        if ROLES.index(role) < rank:
            assert answer.status_code == 403, (role, answer.text)
        else:
            assert answer.status_code not in (401, 403, 500), (role, answer.status_code)
