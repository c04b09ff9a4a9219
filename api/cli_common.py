"""What the `registry` commands share: opening the store, and failing in one line."""

from __future__ import annotations

import os

import click

from api.services import Services
from api.settings import Settings
from api.store_check import require_store
from tenants.errors import RegistryError


def open_services(create_tables: bool = False) -> Services:
    settings = Settings.from_env()
    if not create_tables:
        require_store(settings)
    return Services.open(settings, create_tables=create_tables)


def fail(exc: RegistryError) -> None:
    message = exc.detail
    errors = getattr(exc, "errors", None)
    if errors:
        message += " " + "; ".join(f"{k}: {' '.join(v)}" for k, v in errors.items())
    raise click.ClickException(message)


def fresh(svc: Services, processors: list) -> int:
    """The projections a command reads, caught up to the log's head (or a one-line error
    naming the lag): see api.freshness."""
    from api.freshness import caught_up

    wait = float(os.environ.get("REGISTRY_FRESHNESS_WAIT_SECONDS") or 30)
    return caught_up(svc, processors, wait, say=lambda text: click.echo(text, err=True))
