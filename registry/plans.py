"""Use cases of plans: import, set a target, record an opening balance (DESIGN.md 5)."""

from __future__ import annotations

import datetime as dt
from typing import Any, Iterable

from events import (
    PLAN_CATALOGUE_ID,
    PlanAdopted,
    PlanListed,
    PlanRevised,
    PlanTargetSet,
    PlanView,
    plan_id,
)
from events.openings import Opening
from events.plans import COMPARATORS, COUNTINGS
from events.store import EventLog, IntegrityError
from registry.clock import Clock
from registry.openings import Openings
from tenants.directory import Directory
from tenants.errors import Conflict, InvalidInput, NotFound, OutOfScope
from tenants.scope import Scope

MAX_ATTEMPTS = 5


class Plans:
    """Plans, targets and openings, stored as events with their actor."""

    def __init__(self, log: EventLog, directory: Directory, openings: Openings,
                 clock: Clock | None = None) -> None:
        self.log = log
        self.directory = directory
        self.openings = openings
        self.clock = clock or Clock()

    # Reads -------------------------------------------------------------------------------

    def catalogue(self) -> list[tuple[str, str]]:
        """(plan id, tenant) of every plan, in adoption order."""
        return [(p.event.plan_id, p.event.tenant) for p in self.log.history(PLAN_CATALOGUE_ID)]

    def find(self, plan: str) -> PlanView | None:
        return PlanView.replay([p.event for p in self.log.history(plan_id(plan))])

    def get(self, plan: str) -> PlanView:
        view = self.find(plan)
        if view is None:
            raise NotFound(f"No plan '{plan}'.", plan=plan)
        return view

    def all(self, tenants: Iterable[str] | None = None) -> list[PlanView]:
        """Every plan (or the plans of some tenants), read in one query."""
        wanted = None if tenants is None else set(tenants)
        ids = [pid for pid, tenant in self.catalogue() if wanted is None or tenant in wanted]
        histories = self.log.histories(plan_id(pid) for pid in ids)
        views = [PlanView.replay([p.event for p in histories[plan_id(pid)]]) for pid in ids]
        return [view for view in views if view is not None]

    # Writes ------------------------------------------------------------------------------

    def import_plans(self, document: dict[str, Any], actor: dict) -> dict[str, int]:
        """Adopt new plans and amend changed targets; a second import of the same file
        stores nothing."""
        plans = document.get("plans") if isinstance(document, dict) else None
        if not isinstance(plans, list):
            raise InvalidInput({"plans": ["Expected a list of plans."]})
        tree = self.directory.tree()
        errors: dict[str, list[str]] = {}
        for n, plan in enumerate(plans):
            errors.update(_plan_errors(plan, f"plans.{n}", tree))
        if errors:
            raise InvalidInput(errors)
        result = {"adopted": 0, "revised": 0, "unchanged": 0}
        for plan in plans:
            existing = self.find(plan["id"])
            if existing is None:
                self._adopt(plan, actor)
                result["adopted"] += 1
            elif self._revise_from_file(existing, plan, actor):
                result["revised"] += 1
            else:
                result["unchanged"] += 1
        return result

    def _adopt(self, plan: dict[str, Any], actor: dict) -> None:
        now = self.clock.now()
        adopted = PlanAdopted(
            originator_id=plan_id(plan["id"]), originator_version=1, timestamp=now,
            plan_id=plan["id"], tenant=plan["tenant"], actor=actor, **_document(plan))
        for _ in range(MAX_ATTEMPTS):
            listed = PlanListed(originator_id=PLAN_CATALOGUE_ID,
                                originator_version=len(self.catalogue()) + 1, timestamp=now,
                                plan_id=plan["id"], tenant=plan["tenant"])
            try:
                self.log.append(adopted, listed)
                return
            except IntegrityError:
                if self.find(plan["id"]) is not None:
                    return  # adopted concurrently: the same fact
        raise Conflict("The plan catalogue is busy; retry the import.")

    def _revise_from_file(self, existing: PlanView, plan: dict[str, Any], actor: dict) -> bool:
        """Store a plan.revised event when the file's document differs from the stored one
        (indicators, counting, baselines, printed targets, sources); targets set since for
        an unchanged indicator stay."""
        document = _document(plan)
        stored = {"title": existing.title, "title_en": existing.title_en,
                  "period_start": existing.period_start, "period_end": existing.period_end,
                  "indicators": existing.indicators, "source": existing.source}
        if document == stored:
            return False
        self._append(existing.id, lambda version: PlanRevised(
            originator_id=plan_id(existing.id), originator_version=version,
            timestamp=self.clock.now(), plan_id=existing.id, tenant=existing.tenant,
            actor=actor, **document))
        return True

    def set_target(self, scope: Scope, plan: str, body: dict[str, Any]) -> PlanView:
        """An admin sets or amends a tenant's target for one indicator."""
        view = self._writable(scope, plan, body["tenant"], body["indicator"])
        target = dict(body["target"])
        if target.get("value") is not None:
            target.setdefault("comparator", ">=")
            target.setdefault("raw", _number(target["value"]))
        target.setdefault("year", view.period_end.year)
        self._append(plan, lambda version: PlanTargetSet(
            originator_id=plan_id(plan), originator_version=version, timestamp=self.clock.now(),
            plan_id=plan, tenant=body["tenant"], indicator=body["indicator"], target=target,
            baseline=None, reason=body["reason"], actor=scope.principal.actor()))
        return self.get(plan)

    def record_opening(self, scope: Scope, plan: str, body: dict[str, Any]) -> Opening:
        """An admin records, through a plan, an opening of the measure its indicator names:
        the same tenant fact as POST /v1/tenants/{code}/openings."""
        self._writable(scope, plan, body["tenant"], body["indicator"])
        return self.openings.record(scope, body["tenant"], {
            "measure": body["indicator"], "value": body["value"], "on": body["on"],
            "source": body.get("note") or ""}, plan=plan)

    def _writable(self, scope: Scope, plan: str, tenant: str, key: str) -> PlanView:
        if not (scope.is_operator or scope.role == "admin"):
            raise OutOfScope("Only admins set targets and record opening balances.")
        view = self.get(plan)
        tree = scope.tree
        if tenant not in tree:
            raise InvalidInput({"tenant": [f"Unknown tenant {tenant}."]})
        if not scope.covers(tenant):
            raise OutOfScope(f"Tenant {tenant} is outside your subtree.", tenant=tenant)
        if not tree.is_within(tenant, view.tenant):
            raise InvalidInput({"tenant": [f"Tenant {tenant} is not under the plan's tenant "
                                           f"{view.tenant}."]})
        if view.indicator(key) is None:
            raise InvalidInput({"indicator": [f"Plan '{plan}' has no indicator '{key}'."]})
        return view

    def _append(self, plan: str, make_event) -> None:
        for _ in range(MAX_ATTEMPTS):
            version = len(self.log.history(plan_id(plan))) + 1
            try:
                self.log.append(make_event(version))
                return
            except IntegrityError:
                continue
        raise Conflict(f"Plan '{plan}' is being changed by others; retry.")


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _document(plan: dict[str, Any]) -> dict[str, Any]:
    """The stored form of a plan of the file: titles, period, indicators and sources."""
    return {
        "title": plan["title"], "title_en": plan.get("title_en") or "",
        "period_start": dt.date.fromisoformat(plan["period"]["start"]),
        "period_end": dt.date.fromisoformat(plan["period"]["end"]),
        "indicators": [_indicator(i) for i in plan["indicators"]],
        "source": {k: plan.get(k) for k in ("source", "source_lines", "table", "table_title",
                                            "description") if plan.get(k) is not None}}


def _indicator(raw: dict[str, Any]) -> dict[str, Any]:
    """The stored form of an indicator of the plan file."""
    keep = ("key", "name", "name_en", "category", "table_category", "unit", "counting",
            "baseline", "target", "actual", "registry_kind", "note")
    return {k: raw.get(k) for k in keep}


def _plan_errors(plan: Any, path: str, tree) -> dict[str, list[str]]:
    if not isinstance(plan, dict):
        return {path: ["Expected an object."]}
    errors: dict[str, list[str]] = {}
    for name in ("id", "tenant", "title"):
        if not isinstance(plan.get(name), str) or not plan[name].strip():
            errors[f"{path}.{name}"] = ["Required text."]
    if isinstance(plan.get("tenant"), str) and plan["tenant"] not in tree:
        errors[f"{path}.tenant"] = [f"Unknown tenant {plan['tenant']}."]
    period = plan.get("period") if isinstance(plan.get("period"), dict) else {}
    try:
        start = dt.date.fromisoformat(period.get("start", ""))
        end = dt.date.fromisoformat(period.get("end", ""))
        if (start.month, start.day) != (1, 1):
            errors[f"{path}.period.start"] = ["Plan periods start on 1 January."]
        if end < start:
            errors[f"{path}.period.end"] = ["Must not be before the start."]
    except (TypeError, ValueError):
        errors[f"{path}.period"] = ["Give start and end as YYYY-MM-DD."]
    indicators = plan.get("indicators")
    if not isinstance(indicators, list) or not indicators:
        errors[f"{path}.indicators"] = ["Expected a non-empty list."]
        return errors
    seen = set()
    for n, indicator in enumerate(indicators):
        where = f"{path}.indicators.{n}"
        if not isinstance(indicator, dict) or not isinstance(indicator.get("key"), str):
            errors[where] = ["Expected an object with a key."]
            continue
        if indicator["key"] in seen:
            errors[f"{where}.key"] = [f"Duplicate key {indicator['key']}."]
        seen.add(indicator["key"])
        if indicator.get("counting") not in COUNTINGS:
            errors[f"{where}.counting"] = [f"Must be one of {', '.join(COUNTINGS)}."]
        target = indicator.get("target")
        if not isinstance(target, dict):
            errors[f"{where}.target"] = ["Expected an object."]
            continue
        value = target.get("value")
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
            errors[f"{where}.target.value"] = ["Must be a number or null."]
        if target.get("comparator") not in (None, *COMPARATORS):
            errors[f"{where}.target.comparator"] = [f"Must be one of {', '.join(COMPARATORS)}."]
    return errors
