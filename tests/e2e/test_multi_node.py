"""The deployment a province runs (issue 14): a PostgreSQL primary with a streaming hot
standby, two app nodes reading from the standby (REGISTRY_READ_DATABASE_URL) and writing to
the primary, two projectors (one active, one standby behind an advisory lock). Under writes,
the active projector and one app node are killed with SIGKILL: the standby projector takes
over within seconds, nothing acknowledged is lost or duplicated, and the standby's counts
equal those of a rebuild. The figures go to artifacts/failover.json."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
from pathlib import Path

import psycopg
import pytest
import requests

from tests.conftest import require_postgres
from tests.e2e.conftest import BIN, free_port, wait_for
from tests.e2e.private_pg import PrivateCluster
from tests.helpers import issued

pytestmark = pytest.mark.slow
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"


@pytest.fixture
def clusters():
    require_postgres()
    if os.geteuid() != 0:
        if os.environ.get("CI"):
            pytest.fail("CI is set but the multi-node test needs root for private clusters")
        pytest.skip("needs root to run private PostgreSQL clusters as the postgres user")
    primary = PrivateCluster()
    standby = primary.standby()
    yield primary, standby
    standby.destroy()
    primary.destroy()


def spawn(args, env, cwd, log):
    return subprocess.Popen([str(BIN / "registry"), *args], env=env, cwd=cwd,
                            stdout=open(log, "wb"), stderr=subprocess.STDOUT,
                            start_new_session=True)


def kill_group(process) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait(timeout=30)


def heartbeat(primary_url: str) -> tuple[int, float] | None:
    with psycopg.connect(primary_url, autocommit=True) as conn:
        row = conn.execute("SELECT pid, extract(epoch FROM now() AT TIME ZONE 'UTC' - at) "
                           "FROM processor_heartbeat WHERE state = 'active'").fetchone()
    return (int(row[0]), float(row[1])) if row else None


def test_two_nodes_two_projectors_a_standby_and_a_failover(clusters, tmp_path):
    primary, standby = clusters
    env = {**os.environ, "REGISTRY_DATABASE_URL": primary.url,
           "REGISTRY_READ_DATABASE_URL": standby.url, "REGISTRY_RATE_LIMIT": "0",
           "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    subprocess.run([str(BIN / "registry"), "init"], env=env, cwd=tmp_path, check=True,
                   capture_output=True, timeout=120)
    token = json.loads(subprocess.run(
        [str(BIN / "registry"), "principals", "add", "--name", "multi", "--role",
         "certification-body", "--tenant", "330000"], env=env, cwd=tmp_path, check=True,
        capture_output=True, text=True).stdout)["token"]
    ports = [free_port(), free_port()]
    nodes = [spawn(["serve", "--no-projector", "--port", str(port), "--workers", "2"], env,
                   tmp_path, tmp_path / f"node{n}.log") for n, port in enumerate(ports)]
    projectors = [spawn(["projector"], env, tmp_path, tmp_path / f"projector{n}.log")
                  for n in range(2)]
    bases = [f"http://127.0.0.1:{port}" for port in ports]
    try:
        for base in bases:
            wait_for(lambda b=base: _up(b))
        first = wait_for(lambda: heartbeat(primary.url))
        acknowledged, refused, stop = [], [], threading.Event()
        alive = list(bases)
        counter = iter(range(10**6))

        def writer():
            session = requests.Session()
            session.headers["Authorization"] = f"Bearer {token}"
            while not stop.is_set():
                body = issued(f"MN-{next(counter)}", tenant="330523")
                for _ in range(5):  # the same envelope again on a failure: idempotent
                    base = alive[0] if len(alive) == 1 else alive[len(acknowledged) % 2]
                    try:
                        response = session.post(f"{base}/v1/events", json=body, timeout=10)
                    except requests.RequestException:
                        refused.append("connection")
                        time.sleep(0.1)
                        continue
                    if response.status_code in (200, 201):
                        acknowledged.append(response.json())
                        break
                    refused.append(response.status_code)
                    time.sleep(0.1)

        threads = [threading.Thread(target=writer) for _ in range(3)]
        for thread in threads:
            thread.start()
        time.sleep(4)
        active = next(p for p in projectors if p.pid == first[0])
        killed_at = time.monotonic()
        kill_group(active)
        alive.remove(bases[1])
        kill_group(nodes[1])
        taken_over = wait_for(lambda: (beat := heartbeat(primary.url)) and beat[0] != first[0]
                              and beat[1] < 3 and beat, timeout=60)
        takeover_seconds = time.monotonic() - killed_at
        time.sleep(4)
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
        assert acknowledged and takeover_seconds < 15, takeover_seconds
        last = max(r["position"] for r in acknowledged)
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {token}"
        admin = json.loads(subprocess.run(
            [str(BIN / "registry"), "principals", "add", "--name", "multi-admin", "--role",
             "admin", "--tenant", "330000"], env=env, cwd=tmp_path, check=True,
            capture_output=True, text=True).stdout)["token"]
        headers = {"Authorization": f"Bearer {admin}"}
        counts = wait_for(lambda: (r := requests.get(
            f"{bases[0]}/v1/tenants/330000/counts", headers=headers, timeout=30,
            params={"min_position": last, "as_of": "2024-01-01"})).status_code == 200 and r,
            timeout=60)
        valid = counts.json()["counts"]["certification"]["valid"]
        with psycopg.connect(standby.url, autocommit=True) as conn:  # reads went there
            assert conn.execute("SELECT pg_is_in_recovery()").fetchone()[0]
            readers = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE backend_type "
                                   "= 'client backend' AND pid <> pg_backend_pid()").fetchone()
            assert readers[0] > 0
        # nothing acknowledged lost, nothing stored twice (ids are unique per record)
        with psycopg.connect(primary.url, autocommit=True) as conn:
            stored = conn.execute("SELECT count(*) FROM registry_events WHERE topic = "
                                  "'events.certification:CertificationIssued'").fetchone()[0]
        keys = {r["record"] for r in acknowledged}
        assert len(keys) == len(acknowledged) and stored == len(keys) == valid
        # the standby's counts, built page by page by two projectors, equal a rebuild's
        before = counts.json()["counts"]
        subprocess.run([str(BIN / "registry"), "projections", "rebuild"], env=env,
                       cwd=tmp_path, check=True, capture_output=True, timeout=300)
        after = wait_for(lambda: (r := requests.get(
            f"{bases[0]}/v1/tenants/330000/counts", headers=headers, timeout=30,
            params={"as_of": "2024-01-01"})).status_code == 200 and r.json()["counts"] == before
            and r, timeout=60)
        assert after.headers["X-Registry-Position"]
        ARTIFACTS.mkdir(exist_ok=True)
        figures = {"acknowledged_writes": len(acknowledged),
                   "projector_takeover_seconds": round(takeover_seconds, 2),
                   "new_projector_pid": taken_over[0], "refused_or_failed_attempts":
                   len(refused), "refusals": sorted({str(r) for r in refused})}
        (ARTIFACTS / "failover.json").write_text(json.dumps(figures, indent=2))
        print("failover:", figures)
    finally:
        for process in [*nodes, *projectors]:
            kill_group(process)


def _up(base: str) -> bool:
    try:
        return requests.get(f"{base}/v1/health", timeout=2).status_code == 200
    except requests.RequestException:
        return False

