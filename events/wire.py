"""Stored events as documents on the wire (history, audit feed, exports)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from events.base import RecordEvent
from events.openings import OpeningRecorded
from events.plans import PlanAdopted, PlanOpeningRecorded, PlanRevised, PlanTargetSet
from events.registry import PrincipalAdded, PrincipalRevoked
from events.subscriptions import SubscriptionCreated, SubscriptionResumed

AUDITED_TYPES = (PrincipalAdded, PrincipalRevoked, PlanAdopted, PlanRevised, PlanTargetSet,
                 PlanOpeningRecorded, OpeningRecorded, SubscriptionCreated,
                 SubscriptionResumed)


def wire_time(moment: dt.datetime) -> str:
    """A timestamp on the wire, in the audit index and in the ledger's hashed documents:
    UTC, microseconds, `Z` (a naive value is UTC already). Part of the ledger contract."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return moment.isoformat(timespec="microseconds") + "Z"


def record_envelope(position: int, e: RecordEvent) -> dict[str, Any]:
    """A record event as the envelope that was posted, plus the registry's fields."""
    return {
        "id": str(e.envelope_id), "type": e.TYPE, "record": e.key, "kind": e.kind,
        "tenant": e.tenant, "occurred_on": e.occurred_on, "data": e.data(),
        "version": e.originator_version, "position": position,
        "recorded_at": e.timestamp, "actor": e.actor,
    }


def audit_document(position: int, e: Any) -> dict[str, Any] | None:
    """The audit-feed document of any event admins see; None for internal bookkeeping
    (receipts, the plan catalogue, tenant registrations)."""
    if isinstance(e, RecordEvent):
        return record_envelope(position, e)
    common = {"id": str(e.originator_id), "type": e.TYPE, "version": e.originator_version,
              "position": position, "recorded_at": e.timestamp, "actor": e.actor}
    if isinstance(e, PrincipalAdded):
        return {**common, "tenant": e.tenant, "data": {
            "principal_id": e.principal_id, "name": e.name, "role": e.role,
            "tenant": e.tenant, "kinds": list(e.kinds)}}  # never the token hash
    if isinstance(e, PrincipalRevoked):
        return {**common, "tenant": e.tenant, "data": {"principal_id": e.principal_id,
                                                       "reason": e.reason}}
    if isinstance(e, PlanAdopted):
        return {**common, "tenant": e.tenant, "data": {
            "plan": e.plan_id, "title": e.title,
            "period": {"start": e.period_start, "end": e.period_end},
            "indicators": len(e.indicators)}}
    if isinstance(e, PlanRevised):
        return {**common, "tenant": e.tenant, "data": {
            "plan": e.plan_id, "title": e.title, "period": {"start": e.period_start, "end": e.period_end},
            "indicators": len(e.indicators)}}
    if isinstance(e, SubscriptionCreated):  # never the secret
        return {**common, "tenant": e.tenant, "data": {
            "subscription": e.subscription_id, "url": e.url, "types": list(e.types),
            "principal_id": e.principal_id}}
    if isinstance(e, SubscriptionResumed):
        return {**common, "tenant": e.tenant, "data": {"subscription": e.subscription_id}}
    if isinstance(e, OpeningRecorded):
        return {**common, "tenant": e.tenant, "occurred_on": e.on, "data": {
            "measure": e.measure, "value": e.value, "on": e.on, "source": e.source,
            "plan": e.plan}}
    if isinstance(e, PlanTargetSet):
        return {**common, "tenant": e.tenant, "data": {
            "plan": e.plan_id, "indicator": e.indicator, "target": e.target,
            "reason": e.reason}}
    if isinstance(e, PlanOpeningRecorded):
        return {**common, "tenant": e.tenant, "occurred_on": e.on, "data": {
            "plan": e.plan_id, "indicator": e.indicator, "value": e.value, "note": e.note}}
    return None
