"""`registry serve` keeps its projector running: a child process restarted with backoff when
it dies (issue 14, finding 1), each restart logged. Readiness does not trust this: /v1/ready
reads the projector's heartbeat from the database, so a projector that is down (or any
projector of another node) is visible within seconds whatever supervises it."""

from __future__ import annotations

import logging
import subprocess
import threading
import time

log = logging.getLogger("registry.supervisor")
MAX_BACKOFF = 30.0
STABLE_SECONDS = 60.0   # a child that ran this long resets the backoff


class Supervisor:
    """Runs `command` as a child process, restarting it whenever it exits, until stopped."""

    def __init__(self, command: list[str], env: dict[str, str] | None = None) -> None:
        self.command = command
        self.env = env
        self._stop = threading.Event()
        self._child: subprocess.Popen | None = None
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="projector-supervisor",
                                        daemon=True)
        self.restarts = 0

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        backoff = 1.0
        while not self._stop.is_set():
            started = time.monotonic()
            with self._lock:
                if self._stop.is_set():
                    return
                self._child = subprocess.Popen(self.command, env=self.env)
            code = self._child.wait()
            if self._stop.is_set():
                return
            if time.monotonic() - started > STABLE_SECONDS:
                backoff = 1.0
            self.restarts += 1
            log.error("the projector (pid %s) exited with code %s; restarting it in %.0f s "
                      "(restart %d)", self._child.pid, code, backoff, self.restarts)
            self._stop.wait(backoff)
            backoff = min(backoff * 2, MAX_BACKOFF)

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        with self._lock:
            child = self._child
        if child is not None and child.poll() is None:
            child.terminate()
            try:
                child.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                child.kill()
        self._thread.join(timeout=timeout)
