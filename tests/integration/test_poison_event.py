"""A poison event (one the projections cannot apply) stops them with a clear error and a
failing readiness check; it is never skipped, and they resume once it is repaired."""

from __future__ import annotations

import datetime as dt
import threading
import time
import uuid

from sqlalchemy import text

import projections.runner as runner
from events import CertificationIssued, record_id
from events.store import EventLog
from projections.runner import run_forever
from tests.helpers import holder, issued, post


def poison(log: EventLog, key: str) -> int:
    """A stored event whose occurred_on is not a date (as a buggy import might write)."""
    bad = CertificationIssued(
        originator_id=record_id("certification", key), originator_version=1,
        timestamp=CertificationIssued.create_timestamp(), envelope_id=uuid.uuid4(),
        kind="certification", key=key, tenant="330523", occurred_on="not a date",
        actor={"id": "x", "name": "x", "role": "operator"}, holder=holder(n=1), product="p",
        standards=[], valid_until=dt.date(2030, 1, 1))
    return log.append(bad)[0]


def repair(services, position: int, key: str) -> None:
    good = CertificationIssued(
        originator_id=record_id("certification", key), originator_version=1,
        timestamp=CertificationIssued.create_timestamp(), envelope_id=uuid.uuid4(),
        kind="certification", key=key, tenant="330523", occurred_on=dt.date(2024, 1, 1),
        actor={"id": "x", "name": "x", "role": "operator"}, holder=holder(n=1), product="p",
        standards=[], valid_until=dt.date(2030, 1, 1))
    state = services.log.mapper.to_stored_event(good).state
    with services.writer_engine().begin() as conn:
        if services.log.is_postgres:
            conn.execute(text("UPDATE registry_events SET state = :s WHERE notification_id = :p"),
                         {"s": state, "p": position})
        else:
            conn.execute(text("UPDATE stored_events SET state = :s WHERE rowid = :p"),
                         {"s": state, "p": position})


def wait_until(predicate, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def test_a_poison_event_stops_the_projector_visibly_and_it_resumes_once_repaired(
        client, services, token_for, monkeypatch):
    monkeypatch.setattr(runner, "POISON_RETRY_SECONDS", 0.3)
    cb = token_for("certification-body", "330000")
    assert post(client, cb, issued("BEFORE")).status_code == 201
    bad_position = poison(services.log, "POISON")
    assert post(client, cb, issued("AFTER")).status_code == 201
    stop = threading.Event()
    projector = services.projector()
    thread = threading.Thread(target=run_forever, args=([projector], stop),
                              kwargs={"poll": 0.05, "page": 1})
    thread.start()
    try:
        assert wait_until(lambda: client.get("/v1/ready").status_code == 503)
        ready = client.get("/v1/ready")
        assert ready.mimetype == "application/problem+json"
        assert ready.headers["Retry-After"]
        stopped = ready.json["stopped_processors"][0]
        assert stopped["name"] == "counts" and stopped["after_position"] < bad_position
        assert "occurred_on" in stopped["error"] or "toordinal" in stopped["error"]
        time.sleep(1.0)
        assert projector.position() < bad_position  # never skipped
        admin = token_for("admin", "330000")
        counts = client.get("/v1/tenants/330000/counts?as_of=2024-06-01",
                            headers={"Authorization": f"Bearer {admin}"})
        assert counts.status_code == 200  # the last good numbers are still served
        repair(services, bad_position, "POISON")
        assert wait_until(lambda: client.get("/v1/ready").status_code == 200)
        assert wait_until(lambda: projector.position() >= services.log.max_position())
    finally:
        stop.set()
        thread.join(timeout=30)
