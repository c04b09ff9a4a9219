"""/metrics counts the requests of every worker (issue 14, finding 2), under `registry serve`
and under plain `gunicorn wsgi:app`; the metrics directory is removed when the server stops."""

from __future__ import annotations

import glob
import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest
import requests

from tests.e2e.conftest import BIN, free_port, registry_env, running_server, wait_until_up

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]


def counted(base: str) -> float:
    text = requests.get(f"{base}/metrics", timeout=5).text
    return sum(float(v) for v in re.findall(
        r'^registry_http_requests_total\{[^}]*route="/v1/health"[^}]*\} (\S+)$', text, re.M))


def hammer(base: str, n: int) -> None:
    session = requests.Session()
    for _ in range(n):  # new connections too, so both workers serve some
        assert requests.get(f"{base}/v1/health", timeout=5).status_code == 200
        assert session.get(f"{base}/v1/health", timeout=5).status_code == 200


def test_registry_serve_counts_every_worker_and_cleans_up(settings, tmp_path):
    before = set(glob.glob("/tmp/registry-metrics-*"))
    with running_server(settings, tmp_path, workers=3) as (base, _):
        hammer(base, 100)
        assert counted(base) >= 200
        assert counted(base) >= 200  # whichever worker takes the scrape
        made = set(glob.glob("/tmp/registry-metrics-*")) - before
        assert len(made) == 1
    time.sleep(0.5)
    assert not (set(glob.glob("/tmp/registry-metrics-*")) - before)


def test_plain_gunicorn_counts_every_worker(settings, tmp_path):
    env = registry_env(settings)
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    subprocess.run([str(BIN / "registry"), "init"], env=env, cwd=tmp_path, check=True,
                   capture_output=True)
    port = free_port()
    server = subprocess.Popen([str(BIN / "gunicorn"), "--workers", "3", "--bind",
                               f"127.0.0.1:{port}", "wsgi:app"], cwd=ROOT,
                              env={**env, "REGISTRY_DATABASE_URL": settings.database_url},
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        assert wait_until_up(base, server)
        hammer(base, 100)
        assert counted(base) >= 200
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
