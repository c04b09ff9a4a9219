"""The dashboard through Flask's test client: a small history in Huzhou, plans loaded."""

from __future__ import annotations

import re

import pytest

from api import create_app
from tests.helpers import issued, post


@pytest.fixture
def ui_app(settings, services, plans_loaded):
    application = create_app(settings=settings.with_overrides(
        {"extra": {"secret_key": "test-secret-not-for-production"}}))
    yield application
    application.extensions["registry"].close()


@pytest.fixture
def history(ui_app, token_for, project):
    """Two certificates in 安吉县 (330523), one in 长兴县 (330522), one suspended."""
    client = ui_app.test_client()
    writer = token_for("certification-body", "330500")
    for body in (issued("ZJM-2023-UI-0001", "330523", holder_=None),
                 issued("ZJM-2023-UI-0002", "330523"),
                 issued("ZJM-2023-UI-0003", "330522")):
        assert post(client, writer, body).status_code == 201
    suspend = {"id": "6f0e2f7c-1111-4a52-9c55-0c0c0c0c0c01", "type": "certification.suspended",
               "record": "ZJM-2023-UI-0001", "occurred_on": "2024-03-01",
               "data": {"reason": "监督抽查不合格"}}
    assert post(client, writer, suspend).status_code == 201
    project()
    return writer


def csrf_from(response) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', response.get_data(as_text=True))
    assert match, "no CSRF token on the page"
    return match.group(1)


def sign_in(client, token: str, next_: str | None = None):
    token_field = csrf_from(client.get("/ui/sign-in"))
    data = {"token": token, "csrf_token": token_field}
    if next_:
        data["next"] = next_
    return client.post("/ui/sign-in", data=data)


@pytest.fixture
def signed_in(ui_app, token_for, history):
    """sign_in_as(role, tenant) -> (client, token)."""

    def make(role: str = "admin", tenant: str = "330000"):
        token = token_for(role, tenant)
        client = ui_app.test_client()
        response = sign_in(client, token)
        assert response.status_code == 302, response.get_data(as_text=True)
        return client, token

    return make
