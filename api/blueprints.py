"""The /v1 endpoints of DESIGN.md section 3: parse, call the use case, return."""

from __future__ import annotations

from flask import Blueprint

from api.auth import caller_scope
from api.context import services
from api.params import date_param, json_body, record_address, timestamp_param
from events import EVENT_TYPES, KINDS
from events.envelope import parse_envelope
from events.text import normalise_key
from registry.errors import RecordNotFound
from registry.service import event_envelope
from tenants.errors import NotFound, OutOfScope

v1 = Blueprint("v1", __name__, url_prefix="/v1")


@v1.post("/events")
def post_event():
    """Record one lifecycle event for a record the caller may write."""
    scope = caller_scope()
    svc = services()
    envelope = parse_envelope(json_body(), EVENT_TYPES, svc.registry.clock.today())
    receipt = svc.registry.record(scope, envelope)
    return receipt.as_json(), 200 if receipt.replayed else 201


def _address(kind: str, key: str) -> tuple[str, str]:
    kind, key = record_address(kind, key)
    if kind not in KINDS:
        raise RecordNotFound(kind, key)
    return kind, normalise_key(key)


@v1.get("/records/<kind>/<path:key>/events")
def record_history(kind: str, key: str):
    """The record's full history: envelopes in version order."""
    scope = caller_scope()
    kind, key = _address(kind, key)
    history = services().registry.get_history(scope, kind, key)
    return {"events": [event_envelope(p) for p in history], "next": None}


@v1.get("/records/<kind>/<path:key>")
def record_state(kind: str, key: str):
    """The record's state now, on a business date (as_of) or as known at a time (known_at)."""
    scope = caller_scope()
    kind, key = _address(kind, key)
    as_of, known_at = date_param("as_of"), timestamp_param("known_at")
    return services().registry.get_record(scope, kind, key, as_of, known_at)


@v1.get("/tenants")
def list_tenants():
    """The tenants the caller can see (its subtree), in code order."""
    scope = caller_scope()
    tree = scope.tree
    return {"tenants": [tree.get(code).as_json() for code in scope.visible_tenants()]}


@v1.get("/tenants/<code>")
def get_tenant(code: str):
    """One tenant with its ancestors and children."""
    scope = caller_scope()
    tenant = scope.tree.get(code)
    if tenant is None:
        raise NotFound(f"No tenant {code}.")
    if not scope.covers(code):
        raise OutOfScope(f"Tenant {code} is outside your subtree.", tenant=code)
    return {"tenant": tenant.as_json(),
            "ancestors": [scope.tree.get(a).as_json() for a in scope.tree.ancestors(code)],
            "children": [c.as_json() for c in scope.tree.children(code)]}


@v1.get("/health")
def health():
    """Liveness: the process answers."""
    return {"status": "ok"}


@v1.get("/public/records/<kind>/<path:key>")
def public_record(kind: str, key: str):
    """Public verification of a certificate or other record: no token needed."""
    kind, key = _address(kind, key)
    return services().registry.public_record(kind, key)
