"""/v1/ready tells the truth (issue 14, finding 1): 503 naming the cause when the projector's
heartbeat is stale or it has stopped, or the projections lag beyond the limit; /v1/health
stays liveness only."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import update

from projections.status import beat, heartbeat
from tests.helpers import issued, post


def age_heartbeat(services, seconds: float) -> None:
    at = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None) - dt.timedelta(seconds=seconds)
    with services.writer_engine().begin() as conn:
        conn.execute(update(heartbeat).values(at=at))


def test_a_projector_whose_heartbeat_stops_makes_ready_a_503(client, services, project):
    started = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    beat(services.writer_engine(), 4242, "node-a", started)
    project()
    ready = client.get("/v1/ready")
    assert ready.status_code == 200, ready.json
    assert ready.json["projector"]["pid"] == 4242
    age_heartbeat(services, 40)
    stale = client.get("/v1/ready")
    assert stale.status_code == 503 and stale.mimetype == "application/problem+json"
    assert stale.json["cause"] == "projector-not-running" and "4242" in stale.json["detail"]
    assert stale.headers["Retry-After"]
    assert client.get("/v1/health").status_code == 200  # liveness only
    beat(services.writer_engine(), 4242, "node-a", started, state="stopped")
    assert client.get("/v1/ready").json["cause"] == "projector-stopped"


def test_a_lag_beyond_the_limit_makes_ready_a_503(client, services, token_for, monkeypatch):
    cb = token_for("certification-body", "330000")
    assert post(client, cb, issued("RD-1")).status_code == 201
    assert client.get("/v1/ready").status_code == 200  # behind, but for less than a minute
    monkeypatch.setenv("REGISTRY_READY_MAX_LAG_SECONDS", "0")
    lagging = client.get("/v1/ready")
    assert lagging.status_code == 503 and lagging.json["cause"] == "projection-lag"
    assert lagging.json["projection"]["lag_events"] > 0
