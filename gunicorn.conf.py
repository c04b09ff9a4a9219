"""Read by `gunicorn wsgi:app` started in this directory: /metrics counts every worker.

prometheus_client chooses, when first imported, whether metric values live in the process or
in files under PROMETHEUS_MULTIPROC_DIR, so every worker must see the variable before it
imports the app: the master sets it here before forking (the app is loaded after the fork;
do not use --preload), drops a dead worker's files, and removes a directory it created.
This file imports nothing of the registry (importing the `api` package would import
prometheus_client in the master too early). `registry serve` does the same in api.server.
"""

import gc
import os
import shutil
import tempfile

_OWNED = []


def on_starting(server):
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="registry-metrics-")
        _OWNED.append(os.environ["PROMETHEUS_MULTIPROC_DIR"])


def post_worker_init(worker):
    # What the worker built while starting lives as long as it does: out of the cycle
    # collector's full passes (api.server.freeze_startup_objects, issue 16).
    gc.freeze()


def child_exit(server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server):
    for path in _OWNED:
        shutil.rmtree(path, ignore_errors=True)
