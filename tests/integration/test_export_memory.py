"""An export of 100,000 events streams with bounded memory."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import tracemalloc
import uuid
from pathlib import Path

import pytest

from events import CertificationIssued, record_id
from tests.helpers import auth, holder

EVENTS = 100_000


def append_events(log, count: int, batch: int = 2000) -> None:
    actor = {"id": "loader", "name": "loader", "role": "operator"}
    day = dt.date(2022, 1, 1)
    for start in range(0, count, batch):
        log.append(*[CertificationIssued(
            originator_id=record_id("certification", f"M-{n}"), originator_version=1,
            timestamp=CertificationIssued.create_timestamp(), envelope_id=uuid.uuid4(),
            kind="certification", key=f"M-{n}", tenant="330523", occurred_on=day, actor=actor,
            holder=holder(n=n % 5000), product="竹地板", standards=[],
            valid_until=dt.date(2030, 1, 1)) for n in range(start, min(start + batch, count))])


@pytest.mark.slow
def test_an_export_of_100000_events_streams_with_bounded_memory(app, services, token_for,
                                                                settings, tmp_path):
    append_events(services.log, EVENTS)
    index = services.audit_index()
    index.ensure_tracking()
    while index.process_page(10_000):
        pass
    client = app.test_client()
    token = token_for("auditor", "330500")
    tracemalloc.start()
    response = client.get("/v1/tenants/330500/events.jsonl", headers=auth(token), buffered=False)
    lines = size = 0
    for chunk in response.response:
        lines += chunk.count(b"\n") if isinstance(chunk, bytes) else chunk.count("\n")
        size += len(chunk)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    response.close()
    assert lines == EVENTS
    assert size > 30 * 2**20            # more than 30 MiB went out...
    assert peak < 12 * 2**20, peak      # ...while never holding more than 12 MiB

    out = tmp_path / "export.jsonl"
    env = {"REGISTRY_DATABASE_URL": settings.database_url,
           "REGISTRY_DATABASE_SCHEMA": settings.database_schema, "PATH": ""}
    done = subprocess.run([str(Path(sys.executable).parent / "registry"), "export", "--tenant",
                           "330523", "--output", str(out)], env=env, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert sum(1 for _ in out.open(encoding="utf-8")) == EVENTS
