"""Plans, targets, openings and progress endpoints (DESIGN.md 3 and 5)."""

from __future__ import annotations

from flask import Blueprint, request

from api.auth import caller_scope
from api.blueprints import projection_position
from api.context import services
from api.apidoc import documented, query_args, reply, text_reply
from api.params import json_body
from api.query import Projected, QDate, QText
from api.exports import download
from api.reports import PROGRESS_COLUMNS, csv_row, plan_progress, progress_body
from events.envelope import flatten_errors
from events.openings import RecordOpeningBody
from events.plans import PlanOpeningBody, SetTargetBody
from marshmallow import ValidationError
from tenants.errors import InvalidInput

plans_bp = Blueprint("plans", __name__, url_prefix="/v1")


def _load(schema_class, raw):
    if not isinstance(raw, dict):
        raise InvalidInput({"body": ["Expected a JSON object."]})
    try:
        return schema_class().load(raw)
    except ValidationError as exc:
        raise InvalidInput(flatten_errors(exc.messages)) from None


def _plan_detail(svc, plan, scope) -> dict:
    # The plan document (indicators with their printed targets) is public; what tenants set
    # or recorded for it is shown only inside the caller's subtree, the plan's own tenant
    # included (a sibling county reads Pingyang's plan, not Pingyang's reasons). Openings
    # are facts of tenants and measures: those of the plan's measures in the plan's subtree.
    visible = set(scope.visible_tenants())
    subtree = scope.tree.subtree(plan.tenant)
    measures = {i["key"] for i in plan.indicators}
    openings = [o.as_json() for o in svc.plans.openings.facts(svc.plans.all())
                if o.tenant in visible and o.tenant in subtree and o.measure in measures]
    return {
        **plan.summary(), "source": plan.source, "indicators": plan.indicators,
        "targets": [{"tenant": t, "indicator": k, **v} for (t, k), v in plan.targets.items()
                    if t in visible],
        "openings": openings,
    }


class ProgressQuery(Projected):
    plan = QText("A plan id, e.g. zhejiang-14th-fyp.", required=True, empty_ok=False,
                 error_messages={"required": "Name the plan, e.g. plan=zhejiang-14th-fyp."})
    as_of = QDate("Business date (Asia/Shanghai calendar).")


STORING = (400, 401, 403, 404, 409, 413, 422, 503)
PROGRESS = (401, 403, 404, 422, 503)


@plans_bp.get("/plans")
@documented("Plans", "listPlans", {200: reply("PlanList")}, (401, 503))
def list_plans():
    """Every plan (plans are public documents; targets and openings are scoped)."""
    caller_scope()
    return {"plans": [p.summary() for p in services().plans.all()]}


@plans_bp.get("/plans/<plan_id>")
@documented("A plan: indicators, and the targets and openings you can see", "getPlan",
            {200: reply("PlanDetail")}, (401, 404, 503))
def get_plan(plan_id: str):
    """One plan with its indicators, and the targets and openings of tenants you can see."""
    scope = caller_scope()
    svc = services()
    return _plan_detail(svc, svc.plans.get(plan_id), scope)


@plans_bp.post("/plans/<plan_id>/targets")
@documented("Set or amend a tenant's target (admins of the subtree)", "setTarget",
            {201: reply("Stored", "Stored as a plan.target_set event")}, STORING,
            body="SetTargetBody")
def set_target(plan_id: str):
    """Set or amend a tenant's target for one indicator (admins of the tenant's subtree)."""
    scope = caller_scope()
    body = _load(SetTargetBody, json_body())
    plan = services().plans.set_target(scope, plan_id, body)
    return {"plan": plan.summary(), "tenant": body["tenant"], "indicator": body["indicator"],
            "target": plan.target_for(body["tenant"], body["indicator"])}, 201


@plans_bp.post("/plans/<plan_id>/openings")
@documented("Record an opening balance (admins of the subtree)", "recordOpening",
            {201: reply("Stored", "Stored as an opening.recorded event of the tenant (the "
                                  "indicator key names the measure)")}, STORING,
            body="PlanOpeningBody")
def record_opening(plan_id: str):
    """Record an opening of the measure the plan's indicator names (admins of the
    subtree): the same tenant fact as POST /v1/tenants/{code}/openings."""
    scope = caller_scope()
    body = _load(PlanOpeningBody, json_body())
    opening = services().plans.record_opening(scope, plan_id, body)
    return {"plan": plan_id, "tenant": body["tenant"], "indicator": body["indicator"],
            "opening": opening.as_json()}, 201


@plans_bp.post("/tenants/<code>/openings")
@documented("Record an opening: a measure's value for the tenant on a date",
            "recordTenantOpening", {201: reply("OpeningStored",
                                                "Stored as an opening.recorded event")},
            STORING, body="RecordOpeningBody")
def record_tenant_opening(code: str):
    """Record the value of a measure for the tenant on a date, with its source (admins of
    the subtree)."""
    scope = caller_scope()
    body = _load(RecordOpeningBody, json_body())
    opening = services().plans.openings.record(scope, code, body)
    return {"opening": opening.as_json()}, 201


@plans_bp.get("/tenants/<code>/openings")
@documented("The openings of the tenant's subtree", "listTenantOpenings",
            {200: reply("OpeningList")}, (401, 403, 404, 503))
def list_tenant_openings(code: str):
    """The openings of the tenant's subtree, with their sources and actors."""
    scope = caller_scope()
    svc = services()
    return {"tenant": scope.visible_tenant(code).as_json(),
            "openings": svc.plans.openings.listed(scope, code, svc.plans.all())}


def _plan_and_date(svc) -> tuple[str, object]:
    query = query_args()
    return query["plan"], query["as_of"] or svc.registry.clock.today()


@plans_bp.get("/tenants/<code>/progress")
@documented("Progress against a plan for the tenant and each child", "tenantProgress",
            {200: reply("Progress", projected=True)}, PROGRESS, query=ProgressQuery)
def progress(code: str):
    """Progress against a plan's targets for a tenant and each child, on a date."""
    scope = caller_scope()
    svc = services()
    plan, as_of = _plan_and_date(svc)
    position = projection_position()
    return progress_body(svc, scope, code, plan, as_of, position)


@plans_bp.get("/tenants/<code>/progress.csv")
@plans_bp.get("/tenants/<code>/progress.xlsx", endpoint="progress_as_xlsx")
@documented("The progress table as CSV", "tenantProgressCsv",
            {200: text_reply("text/csv", "CSV (UTF-8 with BOM)")}, PROGRESS,
            query=ProgressQuery)
def progress_as_csv(code: str):
    """The progress table as CSV or Excel (by the path's extension)."""
    scope = caller_scope()
    svc = services()
    plan, as_of = _plan_and_date(svc)
    position = projection_position()
    rows = plan_progress(svc, scope, code, plan, as_of).table()
    return download(PROGRESS_COLUMNS, lambda: (csv_row(r, as_of, position) for r in rows),
                    f"progress-{code}-{plan}-{as_of}", request.path.endswith(".xlsx"),
                    f"{code} {as_of}")


@plans_bp.get("/tenants/<code>/progress/series")
@documented("Yearly values of each indicator against the linear path", "tenantProgressSeries",
            {200: reply("ProgressSeries", projected=True)}, PROGRESS, query=ProgressQuery)
def progress_series(code: str):
    """Per indicator, the value at each year end against the linear path and the target."""
    scope = caller_scope()
    svc = services()
    plan, as_of = _plan_and_date(svc)
    position = projection_position()
    progress = plan_progress(svc, scope, code, plan, as_of)
    return {"tenant": scope.tree.get(code).as_json(), "plan": progress.plan.summary(),
            "as_of": as_of, "judged_on": progress.judged_on, "position": position,
            "indicators": progress.series()}
