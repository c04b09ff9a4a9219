"""The `registry` command line: init, serve, principals (DESIGN.md section 6)."""

from __future__ import annotations

import datetime
import json
import os
import signal
import socket
import subprocess
import sys
import threading

import click

from api.cli_common import fail as _fail
from api.cli_common import open_services as _open
from api.cli_ledger import ledger, prepare_signing_key
from api.cli_plans import export, plans, report
from api.importing import import_command
from api.services import Services
from api.settings import Settings
from api.i18n import catalogue, from_environment
from api.store_check import EXIT_NO_STORE, StoreMissing, require_store
from projections.runner import rebuild_if_outdated
from tenants import seed
from tenants.errors import RegistryError
from tenants.principals import OPERATOR


class RegistryGroup(click.Group):
    """Every command answers an operator in one line, never with a traceback: a missing
    store exits 2 with what to run; a database that cannot be reached or any other failure
    exits 1 naming it (the full trace goes to the log with REGISTRY_LOG_LEVEL=DEBUG)."""

    def invoke(self, ctx: click.Context):
        messages = catalogue(from_environment(ctx.params.get("lang")))
        ctx.meta["messages"] = messages
        try:
            return super().invoke(ctx)
        except StoreMissing as exc:
            click.echo(f"registry: {messages.text(str(exc))}", err=True)
            ctx.exit(EXIT_NO_STORE)
        except click.ClickException as exc:
            exc.message = messages.text(exc.message)
            raise
        except (click.exceptions.Exit, click.Abort, SystemExit):
            raise
        except Exception as exc:  # noqa: BLE001 - the operator's terminal gets one line
            import logging

            logging.getLogger("registry.cli").debug("command failed", exc_info=exc)
            click.echo(f"registry: {messages.text(_one_line(exc))}", err=True)
            ctx.exit(1)


def _one_line(exc: Exception) -> str:
    """An error in one line, without the SQL a database error carries."""
    text = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    detail = text[0] if text else ""
    if type(exc).__module__.startswith(("sqlalchemy", "psycopg", "sqlite3")):
        return f"database error ({type(exc).__name__}): {detail}"
    return f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__


@click.group(cls=RegistryGroup)
@click.option("--lang", type=click.Choice(["en", "zh"]), default=None,
              help="Language of messages [default: from LANG, else English].")
def main(lang: str | None) -> None:
    """Quality Brand Registry: events, counts and plan progress of Zhejiang's quality brands."""


@main.command()
def init() -> None:
    """Create storage and load the tenant tree (run once; safe to run again)."""
    svc = _open(create_tables=True)
    try:
        added = svc.directory.register_tenants(seed.tenants())
        plans = svc.plans.import_plans(seed.load("targets.json"), OPERATOR.actor())
        click.echo(f"storage ready at {svc.settings.database_url}; "
                   f"{added} tenants added, {len(svc.directory.tree())} in the tree; "
                   f"plans: {plans['adopted']} adopted, {plans['revised']} revised")
        click.echo(prepare_signing_key(svc))
        rebuild_if_outdated(svc.log, svc.writer_engine(), svc.lineage, svc.families,
                            say=lambda text: click.echo(text, err=True))
    finally:
        svc.close()
    from api.ui.secret import ensure_secret

    path, created = ensure_secret()
    if created:
        click.echo(f"dashboard session secret written to {path} (mode 0600)", err=True)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=2, show_default=True, type=int)
@click.option("--projector/--no-projector", default=True, show_default=True,
              help="Also run the projector (as a child process).")
def serve(host: str, port: int, workers: int, projector: bool) -> None:
    """Serve the API with gunicorn, plus the projector (the embedded SQLite file by default)."""
    from api.observability import configure_logging
    from api.server import metrics_directory
    from api.supervisor import Supervisor

    require_store(Settings.from_env())
    configure_logging()
    click.echo(f"dashboard: http://{host}:{port}/ui/  ·  API: http://{host}:{port}/v1  ·  "
               f"docs: http://{host}:{port}/docs", err=True)
    # gunicorn runs as a child that sees PROMETHEUS_MULTIPROC_DIR before it imports
    # prometheus_client (this process imported it already), so /metrics counts every worker
    with metrics_directory() as metrics:
        env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": metrics}
        children = [Supervisor([sys.executable, "-m", "api.cli", "projector"], env=env)] \
            if projector else []
        server = subprocess.Popen([sys.executable, "-m", "api.server", "--host", host,
                                   "--port", str(port), "--workers", str(workers)], env=env)
        forward = lambda signum, _frame: server.send_signal(signum)  # noqa: E731
        for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(signum, forward)
        for child in children:
            child.start()
        try:
            code = server.wait()
        finally:
            for child in children:
                child.stop()
            if server.poll() is None:
                server.terminate()
                server.wait(timeout=20)
    if code not in (0, -signal.SIGTERM, -signal.SIGINT):
        sys.exit(code)


@main.command("projector")
@click.option("--poll", default=0.1, show_default=True, help="Seconds between polls when idle.")
@click.option("--page", default=5000, show_default=True,
              help="Record events per transaction at most.")
def projector_command(poll: float, page: int) -> None:
    """Run the projections as their own process (one active; others wait as standbys)."""
    from projections.runner import ProcessLock, run_forever
    from projections.status import beat

    settings = Settings.from_env()
    require_store(settings)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    lock = ProcessLock(settings.database_url, settings.database_schema, "projector")
    if not lock.acquire(stop, on_wait=lambda: click.echo(
            "another projector is active; waiting as a standby", err=True)):
        return
    svc = _open()
    started = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
    host, pid = socket.gethostname(), os.getpid()
    try:
        rebuild_if_outdated(svc.log, svc.writer_engine(), svc.lineage, svc.families,
                            say=lambda text: click.echo(text, err=True))
        click.echo(f"projector running on {settings.database_url} (pid {pid})", err=True)
        run_forever(svc.processors(), stop, poll=poll, page=page,
                    heartbeat=lambda: beat(svc.writer_engine(), pid, host, started),
                    head=svc.log.max_position)
    finally:
        try:
            beat(svc.writer_engine(), pid, host, started, state="stopped")
        except Exception:  # noqa: BLE001 - a database that is gone cannot be told
            pass
        svc.close()
        lock.release()


@main.group()
def projections() -> None:
    """Manage the read models."""


@projections.command("rebuild")
@click.option("--workers", type=click.IntRange(1, 64), default=None,
              help="Processes that fold the log (PostgreSQL; default: one per core from "
                   "100,000 positions, else one).")
def projections_rebuild(workers: int | None) -> None:
    """Replay every event into fresh read models, then switch readers to them."""
    from projections.runner import ProcessLock, rebuild, rebuild_workers

    settings = Settings.from_env()
    require_store(settings)
    lock = ProcessLock(settings.database_url, settings.database_schema, "rebuild")
    if not lock.try_acquire():
        raise click.ClickException("another rebuild is running")
    svc = _open()
    try:
        total = svc.log.max_position()
        engine = svc.writer_engine()
        workers = rebuild_workers(engine, total, workers)
        label = f"replaying events ({workers} process{'es' if workers > 1 else ''})"
        with click.progressbar(length=total, label=label, file=sys.stderr) as bar:
            generation = rebuild(svc.log, engine, svc.lineage, svc.families,
                                 progress=bar.update, workers=workers)
        click.echo(f"rebuilt {total} positions into generation {generation} with {workers} "
                   f"process{'es' if workers > 1 else ''}; readers switched", err=True)
    finally:
        svc.close()
        lock.release()


@projections.command("vacuum")
def projections_vacuum() -> None:
    """Reclaim dead rows and refresh planner statistics of the live read models and of the
    event store's table (for a PostgreSQL server without autovacuum, or after a long
    catch-up or a bulk import)."""
    from projections.runner import vacuum_analyze
    from projections.tables import live_generation

    svc = _open()
    try:
        generation = live_generation(svc.writer_engine())
        if not generation:
            raise click.ClickException("no read models yet: run `registry init`")
        names = vacuum_analyze(svc.writer_engine(), generation)
        svc.log.analyze()
        click.echo(f"vacuumed and analysed {len(names)} tables of generation {generation}: "
                   f"{', '.join(names)}; analysed the events table", err=True)
    finally:
        svc.close()


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


DEMO_DASHBOARD_PRINCIPAL = "演示仪表板管理员 (demo dashboard admin)"


@main.command()
@click.option("--print-token", is_flag=True,
              help="Also issue a fresh sign-in token for the demo dashboard admin of 330000 "
                   "(revoking the previous one) and print it with the dashboard's URL.")
@click.option("--url", default="http://127.0.0.1:8000/ui/", show_default=True,
              help="The dashboard URL to print with --print-token.")
def demo(print_token: bool, url: str) -> None:
    """Post a realistic 2021–2025 history for the seed tenants (safe to run again)."""
    from registry.demo import REVIEW_DATE, Demo

    svc = _open()
    try:
        with click.progressbar(length=5200, label="posting demo events", file=sys.stderr) as bar:
            stored = Demo(svc.registry, svc.plans, svc.directory, progress=bar.update).run()
        token = _demo_dashboard_token(svc) if print_token else None
    except RegistryError as exc:
        _fail(exc)
    finally:
        svc.close()
    click.echo(f"demo: {stored} events stored; see the mid-term review on "
               f"{REVIEW_DATE} (e.g. registry report --plan zhejiang-14th-fyp "
               f"--tenant 330000 --as-of {REVIEW_DATE})", err=True)
    if token:
        click.echo(f"\nDashboard: {url}  (sign in as the demo admin of 浙江省 330000)\n"
                   f"Token:     {token}\n"
                   "The token is shown once and stored only as a hash; run `registry demo "
                   "--print-token` again for a new one (the old one is revoked).")


def _demo_dashboard_token(svc: Services) -> str:
    """Tokens cannot be shown again, so the demo admin is re-issued: the previous demo
    principal is revoked and a new one added (both are events in the audit feed)."""
    for principal in svc.directory.principals():
        if principal.name == DEMO_DASHBOARD_PRINCIPAL and not principal.revoked:
            svc.directory.revoke_principal(principal.id, "demo token re-issued")
    _, token = svc.directory.add_principal(DEMO_DASHBOARD_PRINCIPAL, "admin", "330000")
    return token


main.add_command(ledger)
main.add_command(plans)
main.add_command(report)
main.add_command(export)

main.add_command(import_command)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
