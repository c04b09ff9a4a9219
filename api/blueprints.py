"""The /v1 endpoints of DESIGN.md section 3: parse, call the use case, return."""

from __future__ import annotations

import datetime as dt
import os

from flask import Blueprint, current_app, g, request

from api.auth import caller_scope
from api.context import services
from api.throttle import public_request
from api.verify_bp import public_url
from api.observability import EVENTS_APPENDED
from api.params import (
    date_param,
    int_param,
    json_body,
    record_address,
    text_param,
    timestamp_param,
)
from events import EVENT_TYPES, KINDS
from events.envelope import parse_envelope
from events.text import normalise_key
from projections.status import failures, last_beat
from registry.errors import RecordNotFound
from registry.service import event_envelope
from tenants.errors import InvalidInput, Unavailable

v1 = Blueprint("v1", __name__, url_prefix="/v1")


@v1.post("/events")
def post_event():
    """Record one lifecycle event for a record the caller may write."""
    scope = caller_scope()
    svc = services()
    envelope = parse_envelope(json_body(), EVENT_TYPES, svc.registry.clock.today())
    receipt = svc.registry.record(scope, envelope)
    if not receipt.replayed:
        EVENTS_APPENDED.labels(receipt.kind).inc()
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
    as_of, known_at = date_param("as_of"), timestamp_param("known_at", empty_ok=False)
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
    tenant = scope.visible_tenant(code)
    return {"tenant": tenant.as_json(),
            "ancestors": [scope.tree.get(a).as_json() for a in scope.tree.ancestors(code)],
            "children": [c.as_json() for c in scope.tree.children(code)]}


@v1.get("/health")
def health():
    """Liveness: the process answers."""
    return {"status": "ok"}


def projection_position() -> int:
    """Wait for `min_position` (read-your-writes) and remember the position served."""
    settings = current_app.config["REGISTRY_SETTINGS"]
    wanted = int_param("min_position", None, 0, 2**62)
    svc = services()
    if wanted is not None and wanted > (head := svc.log.max_position()):
        raise InvalidInput({"min_position": [f"No event has this position yet (the newest "
                                             f"is {head})."]})
    g.registry_position = svc.read_models.wait_for(wanted, settings.read_wait_seconds)
    return g.registry_position


def position_header(response):
    """Every projection-served response says which log position it reflects."""
    if "registry_position" in g:
        response.headers["X-Registry-Position"] = str(g.registry_position)
    return response


@v1.get("/tenants/<code>/counts")
def tenant_counts(code: str):
    """Counts by kind and state for the tenant's subtree and each child, on a date."""
    scope = caller_scope()
    svc = services()
    as_of = date_param("as_of") or svc.registry.clock.today()
    known_at = timestamp_param("known_at", empty_ok=False)
    position = projection_position()
    return svc.read_models.counts(scope, code, as_of, known_at, position)


def record_filters() -> dict:
    """The filters of GET /v1/records and GET /v1/records.csv."""
    kind = text_param("kind", 32)
    if kind is not None and kind not in KINDS:
        raise InvalidInput({"kind": [f"Must be one of {', '.join(KINDS)}."]})
    valid_from, valid_to = date_param("valid_until_from"), date_param("valid_until_to")
    if valid_from and valid_to and valid_from > valid_to:
        raise InvalidInput({"valid_until_to": ["Must not be before valid_until_from."]})
    return {"kind": kind, "tenant": text_param("tenant", 6, empty_ok=False),
            "status": text_param("status", 16), "holder": text_param("holder"),
            "q": text_param("q"), "include_voided": request.args.get("include_voided") == "true",
            "valid_until_from": valid_from, "valid_until_to": valid_to}


@v1.get("/records")
def search_records():
    """Records in the caller's scope, filtered, a page at a time (cursor pagination)."""
    scope = caller_scope()
    svc = services()
    filters = record_filters()
    projection_position()
    return svc.read_models.search(scope, svc.registry.clock.today(),
                                  limit=int_param("limit", 50, 1, 500),
                                  cursor=text_param("cursor", 1000), **filters)


@v1.get("/ready")
def ready():
    """Readiness: the database answers, and how far the projections lag behind the log."""
    svc = services()
    head = svc.log.max_position()
    tracking = svc.read_models.tracking()
    lag = max(head - tracking["position"], 0)
    lag_seconds = 0.0
    if lag:
        pending = svc.log.read(tracking["position"], 1)
        if pending:
            recorded = pending[0].event.timestamp
            lag_seconds = max((dt.datetime.now(dt.timezone.utc) - recorded).total_seconds(), 0)
    projection = {"position": tracking["position"], "lag_events": lag,
                  "lag_seconds": round(lag_seconds, 3), "updated_at": tracking["updated_at"]}
    projector = _projector_process(svc)
    body = {"head_position": head, "projection": projection, "projector": projector}
    stopped = failures(svc.engine)
    if stopped:
        names = ", ".join(f"{s['name']} (after position {s['after_position']})" for s in stopped)
        raise NotReady("processor-stopped", f"Stopped on an event it cannot apply: {names}. "
                       "It is not skipped; see the projector's log.", retry_after=60,
                       stopped_processors=stopped, **body)
    limits = ready_limits()
    if projector is not None and projector["state"] != "active":
        raise NotReady("projector-stopped", f"The projector (pid {projector['pid']} on "
                       f"{projector['host']}) has stopped: counts, search and the audit feed "
                       "do not follow new events.", retry_after=5, **body)
    if projector is not None and projector["seconds_since_heartbeat"] > limits["heartbeat"]:
        raise NotReady("projector-not-running", "No heartbeat from the projector for "
                       f"{projector['seconds_since_heartbeat']:.0f} s (pid {projector['pid']} "
                       f"on {projector['host']}): it is down or cannot reach the database.",
                       retry_after=5, **body)
    if lag_seconds > limits["lag"]:
        raise NotReady("projection-lag", f"The projections are {lag} events and "
                       f"{lag_seconds:.0f} s behind the log (limit {limits['lag']:g} s).",
                       retry_after=5, **body)
    return {"status": "ready", "database": "ok", **body}


class NotReady(Unavailable):
    """/v1/ready answers 503 naming its cause (/problems/not-ready, `cause`)."""

    slug = "not-ready"
    title = "Not ready"

    def __init__(self, cause: str, detail: str, retry_after: int, **extra: object) -> None:
        super().__init__(detail, retry_after=retry_after, cause=cause, **extra)


def ready_limits() -> dict[str, float]:
    """REGISTRY_READY_MAX_LAG_SECONDS (default 60) and REGISTRY_READY_MAX_HEARTBEAT_SECONDS
    (default 10: five missed heartbeats)."""
    return {"lag": float(os.environ.get("REGISTRY_READY_MAX_LAG_SECONDS") or 60),
            "heartbeat": float(os.environ.get("REGISTRY_READY_MAX_HEARTBEAT_SECONDS") or 10)}


def _projector_process(svc) -> dict | None:
    """The active projector's last heartbeat (None: no projector process ever ran here, as
    in tests that project in-process; readiness then rests on the lag)."""
    found = last_beat(svc.engine)
    if found is None:
        return None
    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    return {**found, "seconds_since_heartbeat": round((now - found["at"]).total_seconds(), 3)}


@v1.get("/public/records")
def public_search():
    """Find records publicly: by exact certificate key, exact USCC, or the start of the
    holder's name (at least 2 characters; at most 20 results; limited per address)."""
    public_request()
    q = text_param("q", 200, empty_ok=False)
    if q is None or len(q.strip()) < 2:
        raise InvalidInput({"q": ["Give at least 2 characters: a key, a USCC or the start of "
                                  "a holder's name."]})
    svc = services()
    projection_position()
    found = svc.read_models.public_search(q, svc.registry.clock.today())
    for entry in found:
        entry["verify_url"] = public_url(entry["kind"], entry["record"])
    return {"records": found}


@v1.get("/public/records/<kind>/<path:key>")
def public_record(kind: str, key: str):
    """Public verification of a certificate or other record: no token needed (limited per
    client address)."""
    public_request()
    kind, key = _address(kind, key)
    return services().registry.public_record(kind, key)
