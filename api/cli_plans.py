"""`registry plans ...`, `registry report` and `registry export`: plans, progress tables and
the audit feed, read from projections caught up first (api.freshness)."""

from __future__ import annotations

import json
import os
import sys

import click

from api.cli_common import fail, fresh, open_services
from api.services import Services
from api.settings import Settings
from tenants import seed
from tenants.errors import RegistryError
from tenants.principals import OPERATOR


@click.command()
@click.option("--tenant", required=True, help="Export this tenant's subtree.")
@click.option("--from", "from_", default=None, help="Recorded at or after (date or ISO time).")
@click.option("--to", default=None, help="Recorded before (date or ISO time).")
@click.option("--output", type=click.Path(dir_okay=False), default="-", show_default=True,
              help="File to write (JSON Lines); '-' is standard output.")
def export(tenant: str, from_: str | None, to: str | None, output: str) -> None:
    """Export the subtree's events (the audit feed) as JSON Lines, streaming."""
    from api.jsonenc import wire_default

    svc = open_services()
    try:
        filters = {"from": _moment(from_, "from"), "to": _moment(to, "to")}
        position = fresh(svc, [svc.audit_index()])
        rows = svc.audit.stream(svc.directory.operator_scope(), tenant, filters)
        count = 0
        with click.open_file(output, "w", encoding="utf-8") as handle:
            for _, document in rows:
                handle.write(json.dumps(document, ensure_ascii=False, default=wire_default))
                handle.write("\n")
                count += 1
    except RegistryError as exc:
        fail(exc)
    finally:
        svc.close()
    click.echo(f"exported {count} events of {tenant}'s subtree (log position {position})",
               err=True)


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


@click.group()
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
    svc = open_services()
    try:
        result = svc.plans.import_plans(document, OPERATOR.actor())
    except RegistryError as exc:
        fail(exc)
    finally:
        svc.close()
    click.echo(json.dumps(result))


@plans.command("list")
def plans_list() -> None:
    """List the plans."""
    svc = open_services()
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
    svc = open_services()
    try:
        plan = action(svc, svc.directory.operator_scope())
    except RegistryError as exc:
        fail(exc)
    finally:
        svc.close()
    click.echo(json.dumps(plan.summary(), ensure_ascii=False, default=str))


@click.command()
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

    svc = open_services()
    try:
        day = as_of.date() if as_of else svc.registry.clock.today()
        scope = svc.directory.operator_scope()
        position = fresh(svc, [svc.projector()])
        progress = plan_progress(svc, scope, tenant, plan_id, day)
        rows = progress.table()
        body = {"tenant": scope.tree.get(tenant).as_json(), "plan": progress.plan.summary(),
                "as_of": day, "judged_on": progress.judged_on, "position": position,
                "indicators": rows}
    except RegistryError as exc:
        fail(exc)
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
