"""Gunicorn workers move their startup objects out of the cycle collector's full passes."""

from __future__ import annotations

import gc
import runpy
from pathlib import Path

import pytest

from api.server import gunicorn_options

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def unfrozen():
    gc.unfreeze()
    yield
    gc.unfreeze()


def test_registry_serve_workers_freeze_what_they_built_while_starting(unfrozen):
    hook = gunicorn_options("127.0.0.1", 8000, 2)["post_worker_init"]
    assert gc.get_freeze_count() == 0
    hook(None)
    assert gc.get_freeze_count() > 10_000  # the modules and objects imported so far


def test_workers_started_with_gunicorn_conf_freeze_them_too(unfrozen):
    hooks = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    assert gc.get_freeze_count() == 0
    hooks["post_worker_init"](None)
    assert gc.get_freeze_count() > 10_000


def test_workers_build_the_table_of_invisible_characters_before_the_first_request(unfrozen):
    from events import text

    text._invisible_pattern.cache_clear()
    gunicorn_options("127.0.0.1", 8000, 2)["post_worker_init"](None)
    assert text._invisible_pattern.cache_info().currsize == 1
