"""The dashboard's pages: overview, trends, records, a record's timeline, the audit feed,
and downloads that call the same functions as the /v1 exports (the API stays bearer-only)."""

from __future__ import annotations

from typing import Any

from flask import g, render_template, request

from api.apidoc import query_args
from api.audit_bp import AUDIT_TYPES, FeedPage, audit_export, audit_filters, audit_xlsx
from api.audit_bp import records_csv as api_records_csv
from api.blueprints import RecordSearch, projection_position
from api.context import services
from api.query import Projected, QDate, QText
from api.plans_bp import progress_as_csv
from api.ui import ui_bp
from api.ui.charts import trend_chart
from api.ui.overview import choose, overview, trends
from events import KINDS, STATES
from events.text import normalise_key
from registry.errors import RecordNotFound
from registry.service import event_envelope

PAGE = 25
AUDIT_PAGE = 50


class PlanPage(Projected):
    """The overview's and the trends' choice of plan and date."""

    plan = QText("A plan id (default: the tenant's running plan).")
    as_of = QDate("Business date.")


class RecordsPage(RecordSearch):
    """The records page: the API's filters, a kind it does not know is ignored."""

    kind = QText("Only this kind.", max_length=32)
    tenant = QText("Only this tenant's subtree (the form sends it empty for all).",
                   max_length=6)


def _choice(code: str):
    scope = g.scope
    tenant = scope.visible_tenant(code)
    query = query_args(PlanPage)
    choice = choose(services(), scope, code, query["plan"], query["as_of"])
    return scope, tenant, choice


def _crumbs(scope, code: str) -> list:
    """The tenant's ancestors the caller may open, top first."""
    return [scope.tree.get(a) for a in reversed(scope.tree.ancestors(code)) if scope.covers(a)]


@ui_bp.get("/tenants/<code>", endpoint="overview")
def overview_page(code: str):
    """One card per indicator of the plan on the date, and each division below."""
    scope, tenant, choice = _choice(code)
    position = projection_position()
    svc = services()
    body = overview(svc, scope, code, choice)
    expiring = svc.read_models.expiring(scope, code, svc.registry.clock.today())
    return render_template("ui/overview.html", tenant=tenant, choice=choice, crumbs=_crumbs(
        scope, code), position=position, children=scope.tree.children(code),
        expiring=expiring, **body)



@ui_bp.get("/tenants/<code>/trends", endpoint="trends")
def trends_page(code: str):
    """Per indicator: values at each year end against the linear path and the target."""
    scope, tenant, choice = _choice(code)
    position = projection_position()
    entries = trends(services(), scope, code, choice)
    for entry in entries:
        entry["chart"] = trend_chart(entry, choice.plan.period_start, choice.plan.period_end)
    return render_template("ui/trends.html", tenant=tenant, choice=choice, entries=entries,
                           crumbs=_crumbs(scope, code), position=position)


def _record_filters(query: dict[str, Any]) -> dict[str, Any]:
    filters = {name: (query[name] or "").strip() or None
               for name in ("kind", "status", "tenant", "holder", "q")}
    filters["valid_until_from"] = query["valid_until_from"]
    filters["valid_until_to"] = query["valid_until_to"]
    return filters


@ui_bp.get("/records", endpoint="records")
def records_page():
    """Search and filter the records in scope, a page at a time."""
    scope, svc = g.scope, services()
    query = query_args(RecordsPage)
    filters = _record_filters(query)
    if filters["kind"] not in (None, *KINDS):
        filters["kind"] = None
    projection_position()
    result = svc.read_models.search(scope, svc.registry.clock.today(), limit=PAGE,
                                    cursor=query["cursor"], **filters)
    tenants = [scope.tree.get(c) for c in scope.visible_tenants()]
    states = sorted({s for kind, states in STATES.items()
                     if filters["kind"] in (None, kind) for s in states})
    return render_template("ui/records.html", filters=filters, result=result, kinds=KINDS,
                           states=states, tenants=tenants,
                           first_page=not request.args.get("cursor"))


@ui_bp.get("/records/<kind>/<path:key>", endpoint="record")
def record_page(kind: str, key: str):
    """A record's current state and the timeline of its events."""
    if kind not in KINDS:
        raise RecordNotFound(kind, key)
    key = normalise_key(key)
    scope, svc = g.scope, services()
    state = svc.registry.get_record(scope, kind, key)
    history = [event_envelope(p) for p in svc.registry.get_history(scope, kind, key)]
    return render_template("ui/record.html", record=state, history=list(reversed(history)),
                           tenant=scope.tree.get(state["tenant"]), describe=describe)


@ui_bp.get("/tenants/<code>/audit", endpoint="audit")
def audit_page(code: str):
    """The audit feed of the subtree, filtered, a page at a time."""
    scope, svc = g.scope, services()
    tenant = scope.visible_tenant(code)
    filters = audit_filters(FeedPage)
    query = query_args(FeedPage)
    after, before = query["after"], query["before"]
    projection_position()
    # newest first; `before` pages to older events, `after` to newer ones (stable cursors)
    page = svc.audit.page(scope, code, after, AUDIT_PAGE, filters, "desc", before)
    shown = {k: request.args.get(k) or "" for k in ("kind", "type", "actor", "record",
                                                    "occurred_from", "occurred_to")}
    return render_template("ui/audit.html", tenant=tenant, page=page, filters=shown,
                           kinds=KINDS, types=AUDIT_TYPES, newest=after is None and
                           before is None, crumbs=_crumbs(scope, code), describe=describe)


# Downloads: the same view functions as /v1, with the session's scope in g.scope.
ui_bp.add_url_rule("/tenants/<code>/events.jsonl", "events_jsonl", audit_export)
ui_bp.add_url_rule("/tenants/<code>/events.xlsx", "events_xlsx", audit_xlsx)
ui_bp.add_url_rule("/records.csv", "records_csv", api_records_csv)
ui_bp.add_url_rule("/records.xlsx", "records_xlsx", api_records_csv)
ui_bp.add_url_rule("/tenants/<code>/progress.csv", "progress_csv", progress_as_csv)
ui_bp.add_url_rule("/tenants/<code>/progress.xlsx", "progress_xlsx", progress_as_csv)


def describe(value: Any) -> str:
    """A payload value for people: holders as 'name (USCC)', lists joined."""
    if isinstance(value, dict):
        if set(value) >= {"name", "uscc"}:
            return f"{value['name']} ({value['uscc']})"
        return "; ".join(f"{k}: {describe(v)}" for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return ", ".join(describe(v) for v in value) or "–"
    if value is None:
        return "–"
    return str(value)
