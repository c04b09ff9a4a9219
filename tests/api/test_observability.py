"""Request ids, JSON logs, security headers and Prometheus metrics."""

from __future__ import annotations

import json
import logging

from api.observability import JsonFormatter
from tests.helpers import auth, issued, post


def test_every_response_carries_a_request_id_and_safe_headers(client, token_for):
    response = client.get("/v1/health", headers={"X-Request-Id": "abc-123"})
    assert response.headers["X-Request-Id"] == "abc-123"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    generated = client.get("/v1/health", headers={"X-Request-Id": "bad id with spaces"})
    assert generated.headers["X-Request-Id"] != "bad id with spaces"
    token = token_for("auditor", "330500")
    assert client.get("/v1/tenants", headers=auth(token)).headers["Cache-Control"] == "no-store"


def test_log_lines_are_json_with_the_request_id_and_never_the_token(client, token_for):
    records = []

    class Keep(logging.Handler):
        def emit(self, record):
            records.append(JsonFormatter().format(record))

    handler = Keep()
    logging.getLogger("registry").addHandler(handler)
    try:
        token = token_for("certification-body", "330500")
        post(client, token, issued("LOG-1"))
        client.post("/v1/events", data=b"{", headers={**auth(token), "X-Request-Id": "req-9"})
    finally:
        logging.getLogger("registry").removeHandler(handler)
    lines = [json.loads(r) for r in records]
    assert any(line.get("request_id") == "req-9" and line.get("status") == 400
               for line in lines)
    assert all(token not in r for r in records)


def test_metrics_count_requests_events_and_projection_lag(client, token_for):
    token = token_for("certification-body", "330500")
    assert post(client, token, issued("MET-1")).status_code == 201
    text = client.get("/metrics").get_data(as_text=True)
    assert 'registry_http_requests_total{method="POST",route="/v1/events",status="201"}' in text
    assert 'registry_events_appended_total{kind="certification"}' in text
    assert "registry_projection_lag_events" in text
    assert "registry_http_request_seconds_bucket" in text


def test_metrics_are_refused_to_remote_clients(client):
    response = client.get("/metrics", environ_base={"REMOTE_ADDR": "10.1.2.3"})
    assert response.status_code == 403
    assert response.mimetype == "application/problem+json"


def test_a_principal_over_its_rate_gets_429_with_retry_after(settings, services, token_for):
    from api import create_app

    app = create_app(settings=settings.with_overrides({"rate_limit": 1.0, "rate_burst": 3}))
    client = app.test_client()
    token = token_for("auditor", "330500")
    other = token_for("auditor", "330500")
    codes = [client.get("/v1/tenants", headers=auth(token)).status_code for _ in range(5)]
    assert codes[:3] == [200, 200, 200] and 429 in codes[3:]
    limited = client.get("/v1/tenants", headers=auth(token))
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) >= 1
    assert limited.mimetype == "application/problem+json"
    assert client.get("/v1/tenants", headers=auth(other)).status_code == 200
    app.extensions["registry"].close()
