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

from api.cli_ledger import ledger, prepare_signing_key
from api.importing import import_command
from api.services import Services
from api.settings import Settings
from api.i18n import catalogue, from_environment
from api.store_check import EXIT_NO_STORE, StoreMissing, require_store
from projections.runner import rebuild_if_outdated
from tenants import seed
from tenants.errors import RegistryError
from tenants.principals import OPERATOR


def _open(create_tables: bool = False) -> Services:
    settings = Settings.from_env()
    if not create_tables:
        require_store(settings)
    return Services.open(settings, create_tables=create_tables)


def _fail(exc: RegistryError) -> None:
    message = exc.detail
    errors = getattr(exc, "errors", None)
    if errors:
        message += " " + "; ".join(f"{k}: {' '.join(v)}" for k, v in errors.items())
    raise click.ClickException(message)


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
                    heartbeat=lambda: beat(svc.writer_engine(), pid, host, started))
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
def projections_rebuild() -> None:
    """Replay every event into fresh read models, then switch readers to them."""
    from projections.runner import ProcessLock, rebuild

    settings = Settings.from_env()
    require_store(settings)
    lock = ProcessLock(settings.database_url, settings.database_schema, "rebuild")
    if not lock.try_acquire():
        raise click.ClickException("another rebuild is running")
    svc = _open()
    try:
        total = svc.log.max_position()
        with click.progressbar(length=total, label="replaying events", file=sys.stderr) as bar:
            generation = rebuild(svc.log, svc.writer_engine(), svc.lineage, svc.families,
                                 progress=bar.update)
        click.echo(f"rebuilt {total} positions into generation {generation}; readers "
                   "switched", err=True)
    finally:
        svc.close()
        lock.release()


@projections.command("vacuum")
def projections_vacuum() -> None:
    """Reclaim dead rows and refresh planner statistics of the live read models (for a
    PostgreSQL server without autovacuum, or after a long catch-up)."""
    from projections.runner import vacuum_analyze
    from projections.tables import live_generation

    svc = _open()
    try:
        generation = live_generation(svc.writer_engine())
        if not generation:
            raise click.ClickException("no read models yet: run `registry init`")
        names = vacuum_analyze(svc.writer_engine(), generation)
        click.echo(f"vacuumed and analysed {len(names)} tables of generation {generation}: "
                   f"{', '.join(names)}", err=True)
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


@main.command()
@click.option("--tenant", required=True, help="Export this tenant's subtree.")
@click.option("--from", "from_", default=None, help="Recorded at or after (date or ISO time).")
@click.option("--to", default=None, help="Recorded before (date or ISO time).")
@click.option("--output", type=click.Path(dir_okay=False), default="-", show_default=True,
              help="File to write (JSON Lines); '-' is standard output.")
def export(tenant: str, from_: str | None, to: str | None, output: str) -> None:
    """Export the subtree's events (the audit feed) as JSON Lines, streaming."""
    from api.jsonenc import wire_default

    svc = _open()
    try:
        filters = {"from": _moment(from_, "from"), "to": _moment(to, "to")}
        position = _fresh(svc, [svc.audit_index()])
        rows = svc.audit.stream(svc.directory.operator_scope(), tenant, filters)
        count = 0
        with click.open_file(output, "w", encoding="utf-8") as handle:
            for _, document in rows:
                handle.write(json.dumps(document, ensure_ascii=False, default=wire_default))
                handle.write("\n")
                count += 1
    except RegistryError as exc:
        _fail(exc)
    finally:
        svc.close()
    click.echo(f"exported {count} events of {tenant}'s subtree (log position {position})",
               err=True)


def _fresh(svc: Services, processors: list) -> int:
    """The projections a command reads, caught up to the log's head (or a one-line error
    naming the lag): see api.freshness."""
    from api.freshness import caught_up

    wait = float(os.environ.get("REGISTRY_FRESHNESS_WAIT_SECONDS") or 30)
    return caught_up(svc, processors, wait, say=lambda text: click.echo(text, err=True))


def _moment(value: str | None, name: str):
    """A date (the start of that day in Asia/Shanghai) or an ISO time with an offset."""
    import datetime as dt

    from registry.clock import SHANGHAI

    if not value:
        return None
    try:
        if len(value) == 10:
            day = dt.date.fromisoformat(value)
            return dt.datetime.combine(day, dt.time(0), tzinfo=SHANGHAI)
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise click.BadParameter("give YYYY-MM-DD or an ISO time with an offset",
                                 param_hint=f"--{name}") from None
    if moment.tzinfo is None:
        raise click.BadParameter("give a time zone offset", param_hint=f"--{name}")
    return moment


@main.group()
def plans() -> None:
    """Plans, targets and opening balances (every change is an event)."""


@plans.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
def plans_import(path: str) -> None:
    """Load plans from a file shaped like targets.json (safe to repeat)."""
    with open(path, encoding="utf-8") as handle:
        try:
            document = json.load(handle)
        except ValueError as exc:
            raise click.ClickException(f"{path} is not JSON: {exc}") from None
    svc = _open()
    try:
        result = svc.plans.import_plans(document, OPERATOR.actor())
    except RegistryError as exc:
        _fail(exc)
    finally:
        svc.close()
    click.echo(json.dumps(result))


@plans.command("list")
def plans_list() -> None:
    """List the plans."""
    svc = _open()
    try:
        for plan in svc.plans.all():
            click.echo(json.dumps(plan.summary(), ensure_ascii=False, default=str))
    finally:
        svc.close()


@plans.command("verify-seed")
@click.option("--keep", type=click.Path(file_okay=False), default=None,
              help="Keep the scratch store in this directory (default: a temporary one).")
def plans_verify_seed(keep: str | None) -> None:
    """Post a synthetic history realising the seed plans' results and 2020 baselines into a
    scratch store, read every figure back, and exit 1 if any differs."""
    import tempfile

    from api.seed_check import table, verify

    with tempfile.TemporaryDirectory() as scratch:
        folder = keep or scratch
        os.makedirs(folder, exist_ok=True)
        settings = Settings(database_url=f"sqlite:///{os.path.join(folder, 'verify-seed.db')}")
        svc = Services.open(settings, create_tables=True)
        try:
            svc.directory.register_tenants(seed.tenants())
            document = seed.load("targets.json")
            svc.plans.import_plans(document, OPERATOR.actor())
            checks = verify(svc, document, svc.measures)
        finally:
            svc.close()
    click.echo(table(checks))
    wrong = [c for c in checks if not c.equal]
    click.echo(f"\n{len(checks) - len(wrong)} of {len(checks)} seed figures reproduced"
               + (f"; {len(wrong)} differ" if wrong else ""), err=True)
    if wrong:
        sys.exit(1)


@plans.command("set-target")
@click.option("--plan", "plan_id", required=True)
@click.option("--tenant", required=True)
@click.option("--indicator", required=True)
@click.option("--value", type=float, required=True)
@click.option("--comparator", default=">=", show_default=True,
              type=click.Choice([">=", "<=", "=", "~"]))
@click.option("--reason", required=True)
def plans_set_target(plan_id, tenant, indicator, value, comparator, reason) -> None:
    """Set or amend a tenant's target for an indicator."""
    _plan_write(lambda svc, scope: svc.plans.set_target(scope, plan_id, {
        "tenant": tenant, "indicator": indicator, "reason": reason,
        "target": {"value": value, "comparator": comparator}}))


@plans.command("record-opening")
@click.option("--plan", "plan_id", required=True)
@click.option("--tenant", required=True)
@click.option("--indicator", required=True)
@click.option("--value", type=click.IntRange(min=0), required=True)
@click.option("--on", "on", type=click.DateTime(formats=["%Y-%m-%d"]), required=True)
@click.option("--note", default="")
def plans_record_opening(plan_id, tenant, indicator, value, on, note) -> None:
    """Record an opening balance (the indicator's value for the tenant on a date)."""
    _plan_write(lambda svc, scope: svc.plans.record_opening(scope, plan_id, {
        "tenant": tenant, "indicator": indicator, "value": value, "on": on.date(),
        "note": note}))


def _plan_write(action) -> None:
    svc = _open()
    try:
        plan = action(svc, svc.directory.operator_scope())
    except RegistryError as exc:
        _fail(exc)
    finally:
        svc.close()
    click.echo(json.dumps(plan.summary(), ensure_ascii=False, default=str))


@main.command()
@click.option("--plan", "plan_id", required=True)
@click.option("--tenant", required=True)
@click.option("--as-of", "as_of", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="Business date (default: today in Asia/Shanghai).")
@click.option("--csv", "csv_path", type=click.Path(dir_okay=False), default=None,
              help="Also write the table as CSV (default: progress-TENANT-PLAN-DATE.csv).")
@click.option("--xlsx", "xlsx_path", type=click.Path(dir_okay=False), default=None,
              help="Also write the table as an Excel workbook (the same columns).")
def report(plan_id: str, tenant: str, as_of, csv_path, xlsx_path) -> None:
    """Print a plan's progress table for a tenant and write it as CSV (and Excel)."""
    from api.exports import xlsx_file
    from api.reports import PROGRESS_COLUMNS, csv_row, plan_progress, progress_csv, progress_text

    svc = _open()
    try:
        day = as_of.date() if as_of else svc.registry.clock.today()
        scope = svc.directory.operator_scope()
        position = _fresh(svc, [svc.projector()])
        progress = plan_progress(svc, scope, tenant, plan_id, day)
        rows = progress.table()
        body = {"tenant": scope.tree.get(tenant).as_json(), "plan": progress.plan.summary(),
                "as_of": day, "judged_on": progress.judged_on, "position": position,
                "indicators": rows}
    except RegistryError as exc:
        _fail(exc)
    finally:
        svc.close()
    click.echo(progress_text(body))
    path = csv_path or f"progress-{tenant}-{plan_id}-{day}.csv"
    with open(path, "w", encoding="utf-8", newline="") as handle:
        handle.write(progress_csv(rows, day, position))
    click.echo(f"\nCSV written to {path}", err=True)
    if xlsx_path:
        xlsx_file(PROGRESS_COLUMNS, (csv_row(r, day, position) for r in rows),
                  f"{tenant} {day}", xlsx_path)
        click.echo(f"Excel written to {xlsx_path}", err=True)


main.add_command(ledger)

main.add_command(import_command)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
