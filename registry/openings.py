"""Use cases of openings: record one for a tenant and a measure, read them all (DESIGN.md 5)."""

from __future__ import annotations

from typing import Any, Iterable

from events import OpeningBook, OpeningRecorded, PlanView, openings_id
from events.openings import Opening
from events.store import EventLog, IntegrityError
from registry.clock import Clock
from tenants.directory import Directory
from tenants.errors import Conflict, InvalidInput, OutOfScope
from tenants.scope import Scope

MAX_ATTEMPTS = 5


class Openings:
    """Openings are stored on one aggregate per tenant, each with its actor."""

    def __init__(self, log: EventLog, directory: Directory, measures: Iterable[str],
                 clock: Clock | None = None) -> None:
        self.log = log
        self.directory = directory
        self.measures = frozenset(measures)
        self.clock = clock or Clock()

    def record(self, scope: Scope, tenant: str, body: dict[str, Any],
               plan: str | None = None) -> Opening:
        """An admin of the tenant's subtree records the value of a measure on a date."""
        if not (scope.is_operator or scope.role == "admin"):
            raise OutOfScope("Only admins record openings.")
        scope.visible_tenant(tenant)
        measure = body["measure"]
        if measure not in self.measures:
            field = "indicator" if plan else "measure"
            raise InvalidInput({field: [
                f"'{measure}' is not a measure the registry counts (measures.json); openings "
                f"are recorded for measures: {', '.join(sorted(self.measures))}."]})
        if body["on"] > self.clock.today():
            raise InvalidInput({"on": ["Must not be in the future."]})
        aggregate = openings_id(tenant)
        for _ in range(MAX_ATTEMPTS):
            version = len(self.log.history(aggregate)) + 1
            event = OpeningRecorded(
                originator_id=aggregate, originator_version=version,
                timestamp=self.clock.now(), tenant=tenant, measure=measure,
                value=float(body["value"]), on=body["on"], source=body.get("source") or "",
                plan=plan, actor=scope.principal.actor())
            try:
                [position] = self.log.append(event)
            except IntegrityError:
                continue
            return _fact(event, position)
        raise Conflict(f"The openings of {tenant} are being changed by others; retry.")

    def facts(self, plans: Iterable[PlanView]) -> list[Opening]:
        """Every opening: the tenants' own, and those stored under plans before."""
        codes = [t.code for t in self.directory.tree().all()]
        histories = self.log.histories(openings_id(code) for code in codes)
        found = [_fact(p.event, p.position) for history in histories.values() for p in history]
        for plan in plans:
            found.extend(plan.openings)
        return found

    def book(self, plans: Iterable[PlanView]) -> OpeningBook:
        tree = self.directory.tree()
        return OpeningBook(self.facts(plans), {t.code: tree.ancestors(t.code)
                                               for t in tree.all()})

    def listed(self, scope: Scope, code: str, plans: Iterable[PlanView],
               measures: Iterable[str] | None = None) -> list[dict[str, Any]]:
        """The openings of a tenant's subtree the caller may see, oldest date first."""
        scope.visible_tenant(code)
        subtree = scope.tree.subtree(code)
        wanted = None if measures is None else set(measures)
        rows = [o for o in self.facts(plans)
                if o.tenant in subtree and scope.covers(o.tenant)
                and (wanted is None or o.measure in wanted)]
        rows.sort(key=lambda o: (o.tenant, o.measure, o.on, o.recorded_at))
        return [o.as_json() for o in rows]


def _fact(event: OpeningRecorded, position: int) -> Opening:
    return Opening(tenant=event.tenant, measure=event.measure, value=event.value, on=event.on,
                   source=event.source, recorded_at=event.timestamp, actor=event.actor,
                   plan=event.plan, position=position)


__all__ = ["Openings"]
