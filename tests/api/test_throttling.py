"""Throttling before authentication (issue 14, finding 6): failed authentications and
dashboard sign-ins per client address, and the public endpoints per address, answer 429 with
Retry-After beyond their limits; counted in the database, so the limits hold across workers
(two apps on one database stand for two workers here)."""

from __future__ import annotations

import pytest

from api import create_app
from tests.helpers import auth, issued, post


@pytest.fixture
def limits(monkeypatch):
    monkeypatch.setenv("REGISTRY_AUTH_FAILURES_PER_MINUTE", "5")
    monkeypatch.setenv("REGISTRY_PUBLIC_REQUESTS_PER_MINUTE", "8")


def test_random_tokens_are_throttled_across_workers(limits, settings, services, token_for):
    workers = [create_app(settings=settings).test_client() for _ in range(2)]
    answers = [workers[n % 2].get("/v1/tenants", headers=auth(f"qbr_random{n}")).status_code
               for n in range(12)]
    assert answers[:5] == [401] * 5 and set(answers[5:]) == {429}
    refused = workers[1].get("/v1/tenants", headers=auth("qbr_other"))
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1
    assert refused.mimetype == "application/problem+json"
    other_address = workers[0].get("/v1/tenants", headers=auth("qbr_x"),
                                   environ_base={"REMOTE_ADDR": "10.0.0.9"})
    assert other_address.status_code == 401  # another client is not punished


def test_dashboard_sign_ins_are_throttled(limits, settings, services):
    from tests.ui.conftest import sign_in

    app = create_app(settings=settings.with_overrides(
        {"extra": {"secret_key": "test-secret-not-for-production"}}))
    client = app.test_client()
    codes = [sign_in(client, f"qbr_guess{n}").status_code for n in range(8)]
    assert codes[:5] == [401] * 5 and set(codes[5:]) == {429}


def test_the_public_endpoint_has_its_own_limit_per_address(limits, client, token_for):
    cb = token_for("certification-body", "330000")
    assert post(client, cb, issued("PUB-T")).status_code == 201
    codes = [client.get("/v1/public/records/certification/PUB-T").status_code
             for _ in range(10)]
    assert codes[:8] == [200] * 8 and set(codes[8:]) == {429}
    # an authenticated client is not affected by the public limit
    assert client.get("/v1/records/certification/PUB-T", headers=auth(cb)).status_code == 200


def test_forwarded_addresses_count_only_behind_a_configured_proxy(limits, settings, services,
                                                                  monkeypatch):
    plain = create_app(settings=settings).test_client()
    for n in range(6):  # X-Forwarded-For spoofed: ignored, all from the same peer
        plain.get("/v1/tenants", headers={**auth(f"qbr_s{n}"), "X-Forwarded-For": f"1.2.3.{n}"})
    assert plain.get("/v1/tenants", headers=auth("qbr_s9")).status_code == 429
    monkeypatch.setenv("REGISTRY_TRUSTED_PROXIES", "1")
    proxied = create_app(settings=settings).test_client()
    answer = proxied.get("/v1/tenants", headers={**auth("qbr_p"),
                                                 "X-Forwarded-For": "203.0.113.7"},
                         environ_base={"REMOTE_ADDR": "10.1.1.1"})
    assert answer.status_code == 401


def test_a_busy_client_costs_at_most_one_limit_read_a_second(limits, app, client, token_for):
    """Issue 16: the check before authentication was a database read on every request."""
    from sqlalchemy import event

    token = token_for("admin", "330000")
    statements: list[str] = []

    def seen(conn, cursor, statement, *args):
        statements.append(statement)

    engine = app.extensions["registry"].get().writer_engine()
    event.listen(engine, "before_cursor_execute", seen)
    try:
        for _ in range(20):
            assert client.get("/v1/tenants", headers=auth(token)).status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert 0 < sum("throttle_counts" in s for s in statements) <= 2, statements
