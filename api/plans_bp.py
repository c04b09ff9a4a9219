"""Plans, targets, openings and progress endpoints (DESIGN.md 3 and 5)."""

from __future__ import annotations

from flask import Blueprint, Response, request

from api.auth import caller_scope
from api.blueprints import projection_position
from api.context import services
from api.params import date_param, json_body
from api.reports import plan_progress, progress_body, progress_csv
from events.envelope import flatten_errors
from events.plans import RecordOpeningBody, SetTargetBody
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


def _plan_detail(plan, scope) -> dict:
    # The plan document (indicators with their printed targets) is public; what tenants set
    # or recorded under it is shown only inside the caller's subtree, the plan's own tenant
    # included (a sibling county reads Pingyang's plan, not Pingyang's reasons).
    visible = set(scope.visible_tenants())
    return {
        **plan.summary(), "source": plan.source, "indicators": plan.indicators,
        "targets": [{"tenant": t, "indicator": k, **v} for (t, k), v in plan.targets.items()
                    if t in visible],
        "openings": [{"tenant": t, "indicator": k, **v} for (t, k), v in plan.openings.items()
                     if t in visible],
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
    return _plan_detail(services().plans.get(plan_id), scope)


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
    """Record an opening balance for a tenant and indicator (admins of the subtree)."""
    scope = caller_scope()
    body = _load(RecordOpeningBody, json_body())
    plan = services().plans.record_opening(scope, plan_id, body)
    return {"plan": plan.summary(), "tenant": body["tenant"], "indicator": body["indicator"],
            "opening": plan.openings[(body["tenant"], body["indicator"])]}, 201


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
def progress_as_csv(code: str):
    """The progress table as CSV."""
    scope = caller_scope()
    svc = services()
    as_of = date_param("as_of") or svc.registry.clock.today()
    projection_position()
    plan = _plan_param()
    rows = plan_progress(svc, scope, code, plan, as_of).table()
    return Response(progress_csv(rows), mimetype="text/csv",
                    headers={"Content-Disposition":
                             f'attachment; filename="progress-{code}-{plan}-{as_of}.csv"'})


@plans_bp.get("/tenants/<code>/progress/series")
def progress_series(code: str):
    """Per indicator, the value at each year end against the linear path and the target."""
    scope = caller_scope()
    svc = services()
    as_of = date_param("as_of") or svc.registry.clock.today()
    position = projection_position()
    progress = plan_progress(svc, scope, code, _plan_param(), as_of)
    return {"tenant": scope.tree.get(code).as_json(), "plan": progress.plan.summary(),
            "as_of": as_of, "position": position, "indicators": progress.series()}
