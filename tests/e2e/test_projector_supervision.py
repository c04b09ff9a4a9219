"""The projector under operations (issue 14, finding 1): `registry serve` restarts a projector
killed with SIGKILL, and a projector that dies unsupervised turns /v1/ready into a 503 naming
the cause within seconds."""

from __future__ import annotations

import os
import signal
import subprocess
import time

import pytest
import requests

from tests.e2e.conftest import BIN, running_server
from tests.e2e.conftest import wait_for as wait_until
from tests.helpers import issued

pytestmark = pytest.mark.slow


def ready(base: str) -> requests.Response:
    return requests.get(f"{base}/v1/ready", timeout=5)


def token(env, cwd) -> str:
    import json

    out = subprocess.run([str(BIN / "registry"), "principals", "add", "--name", "cb", "--role",
                          "certification-body", "--tenant", "330000"], env=env, cwd=cwd,
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out)["token"]


def test_serve_restarts_a_killed_projector(settings, tmp_path):
    with running_server(settings, tmp_path) as (base, env):
        first = wait_until(lambda: ready(base).json().get("projector"))
        os.kill(first["pid"], signal.SIGKILL)
        writer = token(env, tmp_path)
        response = requests.post(f"{base}/v1/events", json=issued("SUP-1"),
                                 headers={"Authorization": f"Bearer {writer}"}, timeout=10)
        assert response.status_code == 201
        position = response.json()["position"]
        second = wait_until(lambda: (ready(base).json().get("projector") or {}).get("pid")
                            not in (None, first["pid"]) and ready(base).json()["projector"])
        assert second["state"] == "active"
        wait_until(lambda: ready(base).status_code == 200 and
                   ready(base).json()["projection"]["position"] >= position)
        log = (tmp_path / "serve.log").read_text(errors="replace")
        assert "restarting it" in log and str(first["pid"]) in log


def test_a_dead_unsupervised_projector_is_visible_in_ready_within_seconds(settings, tmp_path):
    env_extra = {"REGISTRY_READY_MAX_HEARTBEAT_SECONDS": "3"}
    os.environ.update(env_extra)
    try:
        with running_server(settings, tmp_path, projector=False) as (base, env):
            projector = subprocess.Popen([str(BIN / "registry"), "projector"], env=env,
                                         cwd=tmp_path, stdout=subprocess.DEVNULL,
                                         stderr=open(tmp_path / "projector.log", "wb"))
            try:
                try:
                    wait_until(lambda: ready(base).status_code == 200 and
                               ready(base).json().get("projector"))
                except AssertionError:
                    raise AssertionError((ready(base).text, (tmp_path / "projector.log")
                                          .read_text(errors="replace")[-3000:])) from None
                projector.send_signal(signal.SIGKILL)
                projector.wait(timeout=10)
                killed = time.monotonic()
                answer = wait_until(lambda: (r := ready(base)).status_code == 503 and r.json(),
                                    timeout=15)
                assert time.monotonic() - killed < 8
                assert answer["cause"] == "projector-not-running"
            finally:
                if projector.poll() is None:
                    projector.kill()
    finally:
        for name in env_extra:
            os.environ.pop(name, None)
