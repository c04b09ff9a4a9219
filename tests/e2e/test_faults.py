"""Faults: PostgreSQL stopped and restarted under load. Writes during the outage get 503
with Retry-After; nothing acknowledged is lost; the service and the projector recover by
themselves."""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time

import pytest
import requests

from api.settings import Settings
from tests.conftest import require_postgres
from tests.e2e.conftest import running_server
from tests.e2e.private_pg import PrivateCluster
from tests.helpers import issued


@pytest.fixture
def private_pg():
    require_postgres()
    if os.geteuid() != 0:
        if os.environ.get("CI"):
            pytest.fail("CI is set but the outage test needs root to run a private cluster")
        pytest.skip("needs root to run a private PostgreSQL cluster as the postgres user")
    cluster = PrivateCluster()
    yield cluster
    cluster.destroy()


def test_a_database_outage_gives_503_and_loses_nothing_acknowledged(private_pg, tmp_path):
    settings = Settings(database_url=private_pg.url)
    with running_server(settings, tmp_path, workers=2) as (base, env):
        token = json.loads(subprocess.run(
            ["registry", "principals", "add", "--name", "faults", "--role",
             "certification-body", "--tenant", "330000"], env=env, check=True,
            capture_output=True, text=True).stdout)["token"]
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {token}"
        acknowledged, outage_answers, unanswered, stop = [], [], [], threading.Event()
        counter = iter(range(10**6))

        def writer():
            # A client as integrators.md says to write one: an envelope that gets no answer
            # or a 503 is in doubt (its commit may have gone through just before the
            # connection died) and is sent again, the same envelope, until it is answered.
            # A retry of a stored envelope is answered with the original receipt, so every
            # envelope ends up stored exactly once.
            while not stop.is_set():
                body = issued(f"OUT-{next(counter)}", tenant="330523")
                deadline = time.monotonic() + 120
                while time.monotonic() < deadline:
                    try:
                        response = session.post(f"{base}/v1/events", json=body, timeout=30)
                    except requests.RequestException:
                        time.sleep(1)
                        continue
                    if response.status_code in (200, 201):
                        acknowledged.append(response.json())
                        break
                    outage_answers.append((response.status_code,
                                           response.headers.get("Retry-After"),
                                           response.headers.get("Content-Type")))
                    if response.status_code != 503:
                        break
                    time.sleep(float(response.headers["Retry-After"]))
                else:
                    unanswered.append(body)

        threads = [threading.Thread(target=writer) for _ in range(3)]
        for thread in threads:
            thread.start()
        time.sleep(2)
        private_pg.stop()
        # down for at least 4 s, and until a write has been answered during the outage (a
        # busy machine can take longer to get one through), but not forever
        down_since = time.monotonic()
        while time.monotonic() - down_since < 4 or (
                not outage_answers and time.monotonic() - down_since < 60):
            time.sleep(0.2)
        private_pg.start()
        time.sleep(4)
        stop.set()
        for thread in threads:
            thread.join(timeout=180)
        assert not any(thread.is_alive() for thread in threads)
        assert not unanswered, "an envelope was never answered"
        assert acknowledged, "no write succeeded"
        assert outage_answers, "no write was refused during the outage"
        for status, retry_after, content_type in outage_answers:
            assert status == 503 and retry_after and "problem+json" in content_type
        # the service recovers by itself: a client that honours Retry-After gets its write
        # in (a busy machine may still be bringing the database back) without any restart
        deadline, body = time.monotonic() + 60, issued("OUT-AFTER")
        while True:  # the same envelope each time: a retry is idempotent
            after = session.post(f"{base}/v1/events", json=body, timeout=30)
            if after.status_code != 503 or time.monotonic() > deadline:
                break
            time.sleep(float(after.headers["Retry-After"]))
        assert after.status_code in (200, 201), after.text
        last = after.json()["position"]
        # and the projector, restarted with backoff after the outage, catches up: a reader
        # that honours Retry-After gets the counts at that position
        deadline = time.monotonic() + 60
        while True:
            counts = session.get(f"{base}/v1/tenants/330000/counts",
                                 params={"min_position": last, "as_of": "2024-01-01"},
                                 timeout=30)
            if counts.status_code != 503 or time.monotonic() > deadline:
                break
            time.sleep(float(counts.headers["Retry-After"]))
        assert counts.status_code == 200, counts.text
        # nothing acknowledged was lost, and nothing stored twice or unacknowledged: an
        # envelope in doubt during the outage was sent again until answered, and its retry
        # was answered from what was stored (201 or, if the first try had committed, 200)
        keys, cursor = set(), None
        while True:
            params = {"limit": 500, "q": "OUT-", **({"cursor": cursor} if cursor else {})}
            page = session.get(f"{base}/v1/records", params=params, timeout=30).json()
            keys |= {r["record"] for r in page["records"]}
            cursor = page["next"]
            if not cursor:
                break
        records = [r["record"] for r in acknowledged]
        assert len(set(records)) == len(records)
        assert keys == {*records, "OUT-AFTER"}
        assert counts.json()["counts"]["certification"]["valid"] == len(keys)
