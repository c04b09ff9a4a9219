"""The `registry` command line: init, serve, principals (DESIGN.md section 6)."""

from __future__ import annotations

import json
import sys

import click

from api.importing import import_command
from api.services import Services
from api.settings import Settings
from registry import seed
from tenants.errors import RegistryError


def _open(create_tables: bool = False) -> Services:
    return Services.open(Settings.from_env(), create_tables=create_tables)


def _fail(exc: RegistryError) -> None:
    message = exc.detail
    errors = getattr(exc, "errors", None)
    if errors:
        message += " " + "; ".join(f"{k}: {' '.join(v)}" for k, v in errors.items())
    raise click.ClickException(message)


@click.group()
def main() -> None:
    """Quality Brand Registry: events, counts and plan progress of Zhejiang's quality brands."""


@main.command()
def init() -> None:
    """Create storage and load the tenant tree (run once; safe to run again)."""
    svc = _open(create_tables=True)
    try:
        added = svc.directory.register_tenants(seed.tenants())
        click.echo(f"storage ready at {svc.settings.database_url}; "
                   f"{added} tenants added, {len(svc.directory.tree())} in the tree")
    finally:
        svc.close()


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=2, show_default=True, type=int)
def serve(host: str, port: int, workers: int) -> None:
    """Serve the API with gunicorn (the embedded SQLite file by default)."""
    from api.server import run_gunicorn

    run_gunicorn(Settings.from_env(), host=host, port=port, workers=workers)


@main.group()
def principals() -> None:
    """Manage principals (every change is an event)."""


@principals.command("add")
@click.option("--name", required=True)
@click.option("--role", required=True,
              type=click.Choice(["certification-body", "standards-body", "admin", "auditor"]))
@click.option("--tenant", required=True, help="Division code, e.g. 330523.")
@click.option("--kind", "kinds", multiple=True, help="Kinds a writer works on (repeatable).")
def principals_add(name: str, role: str, tenant: str, kinds: tuple[str, ...]) -> None:
    """Create a principal and print its token (shown once)."""
    svc = _open()
    try:
        principal, token = svc.directory.add_principal(name, role, tenant, kinds)
    except RegistryError as exc:
        _fail(exc)
    finally:
        svc.close()
    click.echo(json.dumps({**principal.as_json(), "token": token}, ensure_ascii=False))
    click.echo("Keep the token: it is not stored and cannot be shown again.", err=True)


@principals.command("list")
def principals_list() -> None:
    """List principals (tokens are never shown)."""
    svc = _open()
    try:
        for principal in svc.directory.principals():
            click.echo(json.dumps(principal.as_json(), ensure_ascii=False))
    finally:
        svc.close()


@principals.command("revoke")
@click.argument("principal_id")
@click.option("--reason", default="revoked by operator", show_default=True)
def principals_revoke(principal_id: str, reason: str) -> None:
    """Revoke a principal: its token stops working."""
    svc = _open()
    try:
        principal = svc.directory.revoke_principal(principal_id, reason)
    except RegistryError as exc:
        _fail(exc)
    finally:
        svc.close()
    click.echo(json.dumps(principal.as_json(), ensure_ascii=False))


main.add_command(import_command)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
