"""Webhook subscriptions (issue 17): POST /v1/subscriptions, GET /v1/subscriptions/{id},
POST /v1/subscriptions/{id}/resume."""

from __future__ import annotations

from flask import Blueprint
from marshmallow import Schema, ValidationError, fields, validate

from api.apidoc import documented, reply
from api.auth import caller_scope
from api.context import services
from api.params import json_body
from events.envelope import flatten_errors
from events.fields import Text
from projections.webhooks import subscription_status
from registry.subscriptions import Subscriptions
from tenants.errors import InvalidInput

subscriptions_bp = Blueprint("subscriptions", __name__, url_prefix="/v1")


class SubscriptionBody(Schema):
    """POST /v1/subscriptions."""

    url = Text(max_length=2000, required=True)
    types = fields.List(Text(max_length=64), required=True,
                        validate=validate.Length(min=1, max=50))
    tenant = Text(max_length=6, required=True,
                  validate=validate.Regexp(r"^\d{6}$", error="Not a tenant code."))


def _use_case() -> Subscriptions:
    svc = services()
    return Subscriptions(svc.log, svc.registry.clock)


@subscriptions_bp.post("/subscriptions")
@documented("Subscribe a URL to events of some types in a subtree (admins and certification "
            "bodies); the answer holds the signing secret, once", "createSubscription",
            {201: reply("SubscriptionCreated", "Stored as a subscription.created event")},
            (400, 401, 403, 404, 413, 422, 503), body="SubscriptionBody")
def create_subscription():
    """Subscribe a URL to events of some types in a subtree (admins and certification
    bodies); the secret that signs the deliveries is in this answer only."""
    scope = caller_scope()
    raw = json_body()
    if not isinstance(raw, dict):
        raise InvalidInput({"body": ["Expected a JSON object."]})
    try:
        body = SubscriptionBody().load(raw)
    except ValidationError as exc:
        raise InvalidInput(flatten_errors(exc.messages)) from None
    created = _use_case().create(scope, body)
    return {**created, "state": "pending"}, 201


@subscriptions_bp.get("/subscriptions/<subscription_id>")
@documented("A subscription: state (pending, active, failing), the last position delivered, "
            "the last error", "getSubscription", {200: reply("Subscription")},
            (401, 404, 503))
def get_subscription(subscription_id: str):
    """A subscription and its deliveries: state, last position delivered, last error."""
    scope = caller_scope()
    created = _use_case().find(scope, subscription_id)
    status = subscription_status(services().engine, created.subscription_id)
    return {"id": created.subscription_id, "tenant": created.tenant, "url": created.url,
            "types": list(created.types), **(status or {"state": "pending"})}


@subscriptions_bp.post("/subscriptions/<subscription_id>/resume")
@documented("Resume deliveries to a failing subscription", "resumeSubscription",
            {200: reply("Stored")}, (401, 404, 503))
def resume_subscription(subscription_id: str):
    """Start deliveries again after a subscription was marked failing."""
    scope = caller_scope()
    position = _use_case().resume(scope, subscription_id)
    return {"id": subscription_id, "resumed_at_position": position}
