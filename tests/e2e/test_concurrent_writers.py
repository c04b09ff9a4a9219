"""Several processes post at once to a real server on PostgreSQL; the projector processes
every acknowledged event exactly once."""

from __future__ import annotations

import json
import multiprocessing
import subprocess
import time

import requests

from tests.helpers import envelope, holder, issued

WRITERS = 4
RECORDS_PER_WRITER = 40


def writer(base: str, token: str, number: int, queue) -> None:
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"
    acknowledged = []
    for n in range(RECORDS_PER_WRITER):
        key = f"W{number}-{n}"
        bodies = [issued(key, tenant=["330523", "330106", "330326"][n % 3],
                         holder_=holder(n=n % 11))]
        if n % 2:
            bodies.append(envelope("certification.suspended", key, "2024-01-01",
                                   {"reason": "r"}))
        bodies.append(envelope("certification.international_issued", "W0-0", "2024-02-01",
                               {"certificate_no": f"{number}-{n}", "partner": "IQNet",
                                "country": "DE"}) if number and n == 0 else None)
        for body in filter(None, bodies):
            for _attempt in range(20):
                response = session.post(f"{base}/v1/events", json=body, timeout=30)
                if response.status_code in (200, 201):
                    acknowledged.append(response.json())
                    break
                if response.status_code == 404 and body["record"] == "W0-0":
                    time.sleep(0.05)  # writer 0 has not created it yet
                    continue
                raise AssertionError(response.text)
    queue.put(acknowledged)


def test_concurrent_writers_lose_nothing_and_the_projector_applies_each_event_once(pg_server):
    base, env = pg_server
    token = json.loads(subprocess.run(
        ["registry", "principals", "add", "--name", "bulk", "--role", "certification-body",
         "--tenant", "330000"], env=env, check=True, capture_output=True, text=True).stdout)["token"]
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    processes = [context.Process(target=writer, args=(base, token, i, queue))
                 for i in range(WRITERS)]
    for process in processes:
        process.start()
    acknowledged = [receipt for _ in processes for receipt in queue.get(timeout=180)]
    for process in processes:
        process.join(timeout=30)
    ids = {r["id"] for r in acknowledged}
    assert len(ids) == len(acknowledged)
    last = max(r["position"] for r in acknowledged)
    auth = {"Authorization": f"Bearer {token}"}
    body = requests.get(f"{base}/v1/tenants/330000/counts",
                        params={"min_position": last, "as_of": "2024-06-01"}, headers=auth,
                        timeout=30)
    assert body.status_code == 200, body.text
    ready = requests.get(f"{base}/v1/ready", timeout=10).json()
    deadline = time.monotonic() + 30
    while ready["projection"]["lag_events"] and time.monotonic() < deadline:
        time.sleep(0.2)
        ready = requests.get(f"{base}/v1/ready", timeout=10).json()
    assert ready["projection"]["lag_events"] == 0
    issued_count = sum(1 for r in acknowledged if r["type"] == "certification.issued")
    suspended = sum(1 for r in acknowledged if r["type"] == "certification.suspended")
    counts = requests.get(f"{base}/v1/tenants/330000/counts", params={"as_of": "2024-06-01"},
                          headers=auth, timeout=30).json()["counts"]
    assert counts["certification"]["valid"] + counts["certification"]["suspended"] == issued_count
    assert counts["certification"]["suspended"] == suspended
    assert counts["international_certificate"]["held"] == WRITERS - 1
    assert ready["projection"]["position"] >= last
    events_applied = _events_applied(env)
    assert events_applied == len(acknowledged)


def _events_applied(env) -> int:
    import psycopg

    from projections.tables import read_model

    url = env["REGISTRY_DATABASE_URL"]
    schema = env["REGISTRY_DATABASE_SCHEMA"]
    with psycopg.connect(url, options=f"-csearch_path={schema}") as conn:
        generation = conn.execute("SELECT generation FROM rm_generation").fetchone()[0]
        table = read_model(generation).tracking.name
        return conn.execute(f"SELECT events FROM {table}").fetchone()[0]
