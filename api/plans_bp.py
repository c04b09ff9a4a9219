"""Plans, targets, openings and progress endpoints (DESIGN.md 3 and 5)."""

from __future__ import annotations

from flask import Blueprint, request

from api.auth import caller_scope
from api.blueprints import projection_position
from api.context import services
from api.params import date_param, json_body
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


@plans_bp.get("/plans")
def list_plans():
    """Every plan (plans are public documents; targets and openings are scoped)."""
    caller_scope()
    return {"plans": [p.summary() for p in services().plans.all()]}


@plans_bp.get("/plans/<plan_id>")
def get_plan(plan_id: str):
    """One plan with its indicators, and the targets and openings of tenants you can see."""
    scope = caller_scope()
    svc = services()
    return _plan_detail(svc, svc.plans.get(plan_id), scope)


@plans_bp.post("/plans/<plan_id>/targets")
def set_target(plan_id: str):
    """Set or amend a tenant's target for one indicator (admins of the tenant's subtree)."""
    scope = caller_scope()
    body = _load(SetTargetBody, json_body())
    plan = services().plans.set_target(scope, plan_id, body)
    return {"plan": plan.summary(), "tenant": body["tenant"], "indicator": body["indicator"],
            "target": plan.target_for(body["tenant"], body["indicator"])}, 201


@plans_bp.post("/plans/<plan_id>/openings")
def record_opening(plan_id: str):
    """Record an opening of the measure the plan's indicator names (admins of the
    subtree): the same tenant fact as POST /v1/tenants/{code}/openings."""
    scope = caller_scope()
    body = _load(PlanOpeningBody, json_body())
    opening = services().plans.record_opening(scope, plan_id, body)
    return {"plan": plan_id, "tenant": body["tenant"], "indicator": body["indicator"],
            "opening": opening.as_json()}, 201


@plans_bp.post("/tenants/<code>/openings")
def record_tenant_opening(code: str):
    """Record the value of a measure for the tenant on a date, with its source (admins of
    the subtree)."""
    scope = caller_scope()
    body = _load(RecordOpeningBody, json_body())
    opening = services().plans.openings.record(scope, code, body)
    return {"opening": opening.as_json()}, 201


@plans_bp.get("/tenants/<code>/openings")
def list_tenant_openings(code: str):
    """The openings of the tenant's subtree, with their sources and actors."""
    scope = caller_scope()
    svc = services()
    return {"tenant": scope.visible_tenant(code).as_json(),
            "openings": svc.plans.openings.listed(scope, code, svc.plans.all())}


def _plan_param() -> str:
    plan = request.args.get("plan")
    if not plan:
        raise InvalidInput({"plan": ["Name the plan, e.g. plan=zhejiang-14th-fyp."]})
    return plan


@plans_bp.get("/tenants/<code>/progress")
def progress(code: str):
    """Progress against a plan's targets for a tenant and each child, on a date."""
    scope = caller_scope()
    svc = services()
    as_of = date_param("as_of") or svc.registry.clock.today()
    position = projection_position()
    return progress_body(svc, scope, code, _plan_param(), as_of, position)


@plans_bp.get("/tenants/<code>/progress.csv")
@plans_bp.get("/tenants/<code>/progress.xlsx", endpoint="progress_as_xlsx")
def progress_as_csv(code: str):
    """The progress table as CSV or Excel (by the path's extension)."""
    scope = caller_scope()
    svc = services()
    as_of = date_param("as_of") or svc.registry.clock.today()
    position = projection_position()
    plan = _plan_param()
    rows = plan_progress(svc, scope, code, plan, as_of).table()
    return download(PROGRESS_COLUMNS, lambda: (csv_row(r, as_of, position) for r in rows),
                    f"progress-{code}-{plan}-{as_of}", request.path.endswith(".xlsx"),
                    f"{code} {as_of}")


@plans_bp.get("/tenants/<code>/progress/series")
def progress_series(code: str):
    """Per indicator, the value at each year end against the linear path and the target."""
    scope = caller_scope()
    svc = services()
    as_of = date_param("as_of") or svc.registry.clock.today()
    position = projection_position()
    progress = plan_progress(svc, scope, code, _plan_param(), as_of)
    return {"tenant": scope.tree.get(code).as_json(), "plan": progress.plan.summary(),
            "as_of": as_of, "judged_on": progress.judged_on, "position": position,
            "indicators": progress.series()}
