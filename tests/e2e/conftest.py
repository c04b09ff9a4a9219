"""A real `registry serve` (gunicorn plus the projector) on a free loopback port."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def registry_env(settings) -> dict[str, str]:
    env = dict(os.environ)
    env["REGISTRY_DATABASE_URL"] = settings.database_url
    env["REGISTRY_DATABASE_SCHEMA"] = settings.database_schema
    env["PATH"] = f"{BIN}{os.pathsep}{env['PATH']}"
    return env


def wait_until_up(base: str, process, timeout: float = 30.0) -> bool:
    """Whether the server answers /v1/health before `timeout` (False once it has died)."""
    deadline = time.monotonic() + timeout
    while process.poll() is None and time.monotonic() < deadline:
        try:
            if requests.get(f"{base}/v1/health", timeout=1).status_code == 200:
                return True
        except (requests.ConnectionError, requests.Timeout):  # booting, or a slow first answer
            pass
        time.sleep(0.2)
    return False


def wait_for(condition, timeout: float = 30.0, every: float = 0.2):
    """The first truthy value of `condition()` within `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(every)
    raise AssertionError("condition not met in time")


@contextmanager
def running_server(settings, workdir: Path, workers: int = 2, projector: bool = True):
    """`registry init` then `registry serve`; yields (base_url, env)."""
    env = registry_env(settings)
    subprocess.run([str(BIN / "registry"), "init"], env=env, cwd=workdir, check=True,
                   capture_output=True)
    port = free_port()
    log_path = workdir / "serve.log"
    log = open(log_path, "wb")
    process = subprocess.Popen([str(BIN / "registry"), "serve", "--port", str(port),
                                "--workers", str(workers)]
                               + ([] if projector else ["--no-projector"]),
                               env=env, cwd=workdir, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    if not wait_until_up(base, process):
        process.kill()
        raise RuntimeError(log_path.read_text())
    try:
        yield base, env
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


@pytest.fixture
def server(settings, tmp_path):
    with running_server(settings, tmp_path) as running:
        yield running


@pytest.fixture
def pg_server(pg_settings, tmp_path):
    with running_server(pg_settings, tmp_path, workers=4) as running:
        yield running
