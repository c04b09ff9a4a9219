"""What the overview and trend pages show: the plan and date chosen, each indicator's row,
and each child's status computed by the same engine as the child's own overview."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from api.services import Services
from api.ui.charts import progress_bar
from events.plans import PlanView
from api.reports import plan_progress, progress_engine
from projections.progress import NOT_TRACKED, PlanProgress
from tenants.errors import NotFound
from tenants.scope import Scope

REVIEW_DATE = dt.date(2025, 6, 30)  # the demo's (and the 14th plans') mid-term review


@dataclass
class Choice:
    """The plan and date of a page, with the alternatives offered."""

    plan: PlanView
    as_of: dt.date
    plans: list[PlanView]
    every_plan: list[PlanView]
    quick_dates: list[tuple[str, dt.date]] = field(default_factory=list)


def choose(svc: Services, scope: Scope, code: str, plan_id: str | None,
           as_of: dt.date | None) -> Choice:
    """Default plan: the tenant's own 14th five-year plan, else its nearest ancestor's, else
    the nearest plan at all; default date: min(today, plan end)."""
    lineage = scope.tree.lineage(code)
    rank = {tenant: n for n, tenant in enumerate(lineage)}
    every_plan = svc.plans.all()
    offered = sorted((p for p in every_plan if p.tenant in rank),
                     key=lambda p: (rank[p.tenant], p.id))
    plan = None
    if plan_id:
        plan = next((p for p in every_plan if p.id == plan_id), None) or svc.plans.get(plan_id)
    else:
        own = [p for p in offered if p.id.endswith("-14th-fyp")]
        plan = (own or offered or [None])[0]
    if plan is None:
        raise NotFound("No plan has been imported yet: run `registry init`.")
    if plan.id not in {p.id for p in offered}:
        offered.append(plan)
    today = svc.registry.clock.today()
    day = as_of or min(today, plan.period_end)
    quick = [("today", today), ("plan_end", plan.period_end)]
    if plan.period_start <= REVIEW_DATE <= plan.period_end:
        quick.insert(0, ("midterm", REVIEW_DATE))
    return Choice(plan, day, offered, every_plan, quick)


def _progress(svc: Services, scope: Scope, code: str, choice: Choice) -> PlanProgress:
    # the plans `choose` read already serve the engine: one read of the plans per page
    return plan_progress(svc, scope, code, choice.plan.id, choice.as_of,
                         progress_engine(svc, scope, choice.every_plan))


def overview(svc: Services, scope: Scope, code: str, choice: Choice) -> dict[str, Any]:
    """Cards (tracked indicators, unknown ones included), the untracked list, and a child
    table per indicator whose statuses are the children's own judgements."""
    scope.visible_tenant(code)
    rows = _progress(svc, scope, code, choice).table()
    cards = [r for r in rows if r["status"] != NOT_TRACKED]
    for row in cards:
        row["bar"] = progress_bar(row)
    statuses = Counter(r["status"] for r in rows)
    return {"cards": cards, "untracked": [r for r in rows if r["status"] == NOT_TRACKED],
            "statuses": statuses}


def trends(svc: Services, scope: Scope, code: str, choice: Choice) -> list[dict[str, Any]]:
    scope.visible_tenant(code)
    return _progress(svc, scope, code, choice).series()
