"""The projector as a process: crash and resume, one active at a time, rebuild and swap."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import func, select

from events import EVENT_TYPES
from events.envelope import parse_envelope
from projections.runner import rebuild
from projections.tables import live_generation, read_model
from tests.consistency import read_model_snapshot
from tests.helpers import auth, envelope, holder, issued

BIN = Path(sys.executable).parent


def write_history(services, records: int) -> None:
    """A few thousand events through the use cases, under the operator's scope."""
    scope = services.directory.operator_scope()
    today = dt.date.today()
    tenants = ["330523", "330522", "330106", "330326", "330212"]
    for n in range(records):
        key = f"CR-{n}"
        bodies = [issued(key, tenant=tenants[n % 5], holder_=holder(n=n % 97),
                         occurred_on="2021-01-01", valid_until=f"20{23 + n % 5}-06-30")]
        if n % 3 == 0:
            bodies.append(envelope("certification.suspended", key, "2022-01-01", {"reason": "r"}))
        if n % 7 == 0:
            bodies.append(envelope("record.transferred", key, "2022-06-01",
                                   {"to_tenant": tenants[(n + 1) % 5]}, kind="certification"))
        for body in bodies:
            services.registry.record(scope, parse_envelope(body, EVENT_TYPES, today))


def snapshot(engine, generation):
    return read_model_snapshot(engine, generation)


def projector_env(settings):
    env = dict(os.environ)
    env["REGISTRY_DATABASE_URL"] = settings.database_url
    env["REGISTRY_DATABASE_SCHEMA"] = settings.database_schema
    return env


def start_projector(settings, tmp_path, page: int):
    log = open(tmp_path / f"projector-{time.monotonic_ns()}.log", "wb")
    return subprocess.Popen([str(BIN / "registry"), "projector", "--page", str(page)],
                            env=projector_env(settings), cwd=tmp_path, stdout=log,
                            stderr=subprocess.STDOUT)


def wait_until(predicate, timeout=60.0, interval=0.01):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return False


def test_a_projector_killed_mid_catch_up_resumes_to_the_same_state_as_a_rebuild(
        settings, services, tmp_path):
    write_history(services, 600)
    head = services.log.max_position()
    first = start_projector(settings, tmp_path, page=25)
    position = services.read_models.position
    assert wait_until(lambda: position() > head * 0.2), "projector never started"
    first.send_signal(signal.SIGKILL)
    first.wait()
    killed_at = position()
    assert 0 < killed_at < head, (killed_at, head)
    second = start_projector(settings, tmp_path, page=500)
    try:
        assert wait_until(lambda: position() >= head), "projector did not catch up"
    finally:
        second.terminate()
        second.wait(timeout=15)
    engine = services.writer_engine()
    live = live_generation(engine)
    resumed = snapshot(engine, live)
    rebuilt_generation = rebuild(services.log, engine, services.lineage, services.families,
                                 grace_seconds=0)
    assert rebuilt_generation == live + 1
    assert snapshot(engine, rebuilt_generation) == resumed
    assert resumed["rm_tracking"][0][2] == sum(
        1 for p in services.log.read_all() if p.event.TYPE not in (
            "tenant.registered", "principal.added", "principal.revoked", "envelope.accepted"))


def test_a_second_projector_waits_as_a_standby(settings, services, tmp_path):
    write_history(services, 30)
    scope = services.directory.operator_scope()
    caught_up = lambda: services.read_models.position() >= services.log.max_position()  # noqa
    first = start_projector(settings, tmp_path, page=100)
    second = None
    try:
        assert wait_until(caught_up)
        second = start_projector(settings, tmp_path, page=100)
        time.sleep(1.0)
        assert second.poll() is None  # alive, waiting for the lock
        services.registry.record(scope, parse_envelope(issued("STANDBY"), EVENT_TYPES,
                                                       dt.date.today()))
        assert wait_until(caught_up)
        first.terminate()
        first.wait(timeout=15)
        services.registry.record(scope, parse_envelope(issued("TAKEOVER"), EVENT_TYPES,
                                                       dt.date.today()))
        assert wait_until(caught_up, timeout=30), "the standby did not take over"
    finally:
        for process in (first, second):
            if process is not None and process.poll() is None:
                process.terminate()
                process.wait(timeout=15)
    engine = services.writer_engine()
    with engine.connect() as conn:
        model = read_model(live_generation(engine))
        events = conn.execute(select(model.tracking.c.events)).scalar()
        versions = conn.execute(select(func.sum(model.records.c.version))).scalar()
    assert events == versions  # every record event applied exactly once


def test_readers_see_the_old_numbers_until_a_rebuild_switches(client, services, token_for,
                                                              project):
    admin = token_for("admin", "330000")
    write_history(services, 40)
    project()
    before = client.get("/v1/tenants/330000/counts?as_of=2022-03-01", headers=auth(admin)).json
    seen_during = []

    def progress(_done):
        seen_during.append(client.get("/v1/tenants/330000/counts?as_of=2022-03-01",
                                      headers=auth(admin)).json["counts"])

    generation = rebuild(services.log, services.writer_engine(), services.lineage,
                         services.families, progress=progress, grace_seconds=0)
    after = client.get("/v1/tenants/330000/counts?as_of=2022-03-01", headers=auth(admin)).json
    assert seen_during and all(c == before["counts"] for c in seen_during)
    assert after["counts"] == before["counts"]
    assert generation == 2
    with services.engine.connect() as conn:
        tables = services.engine.dialect.get_table_names(conn, schema=None)
    assert not any(name.endswith("_g1") for name in tables)
