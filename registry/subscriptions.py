"""Use cases of webhook subscriptions: create one (its secret shown once), resume a failing
one. Deliveries are made by projections.webhooks in the projector process."""

from __future__ import annotations

import secrets
import uuid
from typing import Any

from events import EVENT_TYPES, NAMESPACE
from events.destinations import DestinationRefused, check_destination
from events.store import EventLog
from events.subscriptions import SubscriptionCreated, SubscriptionResumed
from registry.clock import Clock
from tenants.errors import InvalidInput, NotFound, OutOfScope
from tenants.scope import Scope

WRITERS = ("admin", "certification-body")


def subscription_aggregate(subscription_id: str) -> uuid.UUID:
    return uuid.uuid5(NAMESPACE, f"subscription/{subscription_id}")


class Subscriptions:
    """Subscriptions are events on one aggregate each."""

    def __init__(self, log: EventLog, clock: Clock | None = None) -> None:
        self.log = log
        self.clock = clock or Clock()

    def create(self, scope: Scope, body: dict[str, Any]) -> dict[str, Any]:
        if not (scope.is_operator or scope.role in WRITERS):
            raise OutOfScope("Admins and certification bodies subscribe to events.")
        tenant = body["tenant"]
        scope.visible_tenant(tenant)
        kinds = sorted(scope.readable_kinds())
        wrong = [t for t in body["types"] if t not in EVENT_TYPES
                 or EVENT_TYPES[t].KIND not in ("", *kinds)]
        if wrong:
            raise InvalidInput({"types": [f"Not event types you may read: {', '.join(wrong)}."]})
        try:
            check_destination(body["url"])
        except DestinationRefused as exc:
            raise InvalidInput({"url": [str(exc)]}) from None
        subscription_id = str(uuid.uuid4())
        secret = secrets.token_urlsafe(32)
        event = SubscriptionCreated(
            originator_id=subscription_aggregate(subscription_id), originator_version=1,
            timestamp=self.clock.now(), subscription_id=subscription_id, tenant=tenant,
            url=body["url"], types=sorted(set(body["types"])), kinds=kinds,
            principal_id=scope.principal.id, secret=secret, actor=scope.principal.actor())
        [position] = self.log.append(event)
        return {"id": subscription_id, "tenant": tenant, "url": event.url,
                "types": event.types, "secret": secret, "position": position}

    def find(self, scope: Scope, subscription_id: str) -> SubscriptionCreated:
        """The subscription's creation event, if the caller may see it (404 otherwise)."""
        try:
            aggregate = subscription_aggregate(str(uuid.UUID(subscription_id)))
        except ValueError:
            raise NotFound(f"No subscription {subscription_id}.") from None
        history = self.log.history(aggregate)
        if not history:
            raise NotFound(f"No subscription {subscription_id}.")
        created = history[0].event
        if not scope.covers(created.tenant) or not (
                scope.is_operator or scope.role == "admin"
                or created.principal_id == scope.principal.id):
            raise NotFound(f"No subscription {subscription_id}.")
        return created

    def resume(self, scope: Scope, subscription_id: str) -> int:
        created = self.find(scope, subscription_id)
        aggregate = subscription_aggregate(created.subscription_id)
        version = len(self.log.history(aggregate)) + 1
        [position] = self.log.append(SubscriptionResumed(
            originator_id=aggregate, originator_version=version, timestamp=self.clock.now(),
            subscription_id=created.subscription_id, tenant=created.tenant,
            actor=scope.principal.actor()))
        return position
