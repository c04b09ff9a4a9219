"""Running the app under gunicorn from the command line (no --preload: services open after
the fork, in each worker)."""

from __future__ import annotations

import argparse
import gc
import os
import shutil
import tempfile
from contextlib import contextmanager
from typing import Any

from gunicorn.app.base import BaseApplication

from api.settings import Settings


class _Gunicorn(BaseApplication):
    def __init__(self, settings: Settings, options: dict[str, Any]) -> None:
        self.settings = settings
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):
        from api import create_app

        return create_app(settings=self.settings)


def gunicorn_options(host: str, port: int, workers: int) -> dict[str, Any]:
    return {
        "bind": f"{host}:{port}",
        "workers": workers,
        # Threads keep a slow client from holding a whole worker (slow-request protection);
        # `timeout` restarts a worker stuck for 30 s; the request limits refuse huge heads.
        "worker_class": "gthread",
        "threads": 4,
        "timeout": 30,
        "graceful_timeout": 10,
        "keepalive": 5,
        "limit_request_line": 8190,
        "limit_request_fields": 100,
        "limit_request_field_size": 8190,
        "accesslog": None,
        "child_exit": _child_exit,
        "post_worker_init": freeze_startup_objects,
    }


def freeze_startup_objects(_worker=None) -> None:
    """Move what a worker built while starting (modules, the app, its schemas: about 150,000
    objects) out of the cycle collector's reach. They live as long as the worker, yet every
    full collection walked them all again: 15-20 % of a batch's time (issue 16). The table
    of invisible characters is built first, so that no request waits for it."""
    from events.text import invisible_character

    invisible_character("")
    gc.freeze()


def _child_exit(_server, worker) -> None:
    """Drop a dead worker's live gauges from the shared Prometheus files."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def run_gunicorn(settings: Settings, host: str, port: int, workers: int) -> None:
    """Serve in this process. PROMETHEUS_MULTIPROC_DIR must be set before this process
    first imported prometheus_client (`registry serve` starts `python -m api.server` with it
    set), else the workers would count in their own memory."""
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        raise RuntimeError("PROMETHEUS_MULTIPROC_DIR is not set: start the server with "
                           "`registry serve` (or gunicorn with gunicorn.conf.py)")
    _Gunicorn(settings, gunicorn_options(host, port, workers)).run()


@contextmanager
def metrics_directory():
    """A fresh PROMETHEUS_MULTIPROC_DIR for a server's children, removed afterwards (an
    operator's own directory is used, and kept, when the variable is set)."""
    given = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    path = given or tempfile.mkdtemp(prefix="registry-metrics-")
    try:
        yield path
    finally:
        if not given:
            shutil.rmtree(path, ignore_errors=True)


def main(argv: list[str] | None = None) -> None:
    """`python -m api.server --host H --port P --workers N`: gunicorn in this process."""
    parser = argparse.ArgumentParser(prog="api.server")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    run_gunicorn(Settings.from_env(), args.host, args.port, args.workers)


if __name__ == "__main__":
    main()
