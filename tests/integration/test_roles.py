"""Every API endpoint against every role: anonymous callers get 401, staff below the endpoint's
role 403, and staff at or above it get through (to a 2xx, 404 or 422 of the endpoint itself).
The table must name every endpoint the app serves, so a new one cannot skip this test."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

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
    ("GET", "/api/v1/hashlists"): "supervisor",
    ("GET", "/api/v1/users"): "admin",
}
FILL = {"{case_id}": "999999", "{sha256}": "a" * 64, "{tracking_code}": "x" * 20}


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
