"""The /v1 endpoints of DESIGN.md section 3: parse, call the use case, return."""

from __future__ import annotations

import datetime as dt
import os

from flask import Blueprint, current_app, g

from api.auth import caller_scope
from api.context import services
from api.throttle import public_request
from api.verify_bp import public_url
from api.observability import EVENTS_APPENDED
from api.apidoc import documented, query_args, reply
from api.params import json_body, record_address
from api.query import Projected, QDate, QFlag, QInt, QText, QTime, QuerySchema
from events import EVENT_TYPES, KINDS
from events.envelope import parse_envelope
from events.text import normalise_key
from projections.status import failures, last_beat
from registry.errors import RecordNotFound
from registry.service import event_envelope
from tenants.errors import InvalidInput, Unavailable

v1 = Blueprint("v1", __name__, url_prefix="/v1")


class AsOf(QuerySchema):
    as_of = QDate("Business date (Asia/Shanghai calendar).")
    known_at = QTime("Recorded time: only events recorded by then count. A bare date means "
                     "the end of that day in Asia/Shanghai.", empty_ok=False)


class CountsQuery(AsOf, Projected):
    pass


class RecordFilters(Projected):
    """The filters of GET /v1/records and its CSV and Excel twins."""

    kind = QText("Only this kind.", max_length=32, choices=KINDS)
    tenant = QText("Only this tenant's subtree.", max_length=6, pattern=r"[0-9]{6}",
                   empty_ok=False)
    status = QText("State today (implicit expiry counts).", max_length=16)
    holder = QText("A USCC (exact) or part of the holder's name.")
    q = QText("Part of the key, product/title or holder name.")
    include_voided = QFlag("Also list voided records.")
    valid_until_from = QDate("Expiry watch: validity ends on or after this date.")
    valid_until_to = QDate("Expiry watch: validity ends on or before this date.")


class RecordSearch(RecordFilters):
    limit = QInt("Page size (default 50).", minimum=1, maximum=500, load_default=50)
    cursor = QText("The `next` of the previous page.", max_length=1000)


class PublicSearchQuery(Projected):
    q = QText("An exact key, an exact USCC, or the start of a holder's name.", min_length=2,
              required=True, empty_ok=False)


@v1.post("/events")
@documented("Record one lifecycle event", "postEvent", {
    201: reply("Receipt", "Stored"), 200: reply("Receipt", "Already stored (same id, same body)")},
    (400, 401, 403, 404, 409, 413, 422, 503), body="Envelope")
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
@documented("A record's full history", "getRecordHistory", {200: reply("EventList")},
            (401, 404, 503))
def record_history(kind: str, key: str):
    """The record's full history: envelopes in version order."""
    scope = caller_scope()
    kind, key = _address(kind, key)
    history = services().registry.get_history(scope, kind, key)
    return {"events": [event_envelope(p) for p in history], "next": None}


@v1.get("/records/<kind>/<path:key>")
@documented("A record's state", "getRecord", {200: reply("RecordState")}, (401, 404, 422, 503),
            query=AsOf)
def record_state(kind: str, key: str):
    """The record's state now, on a business date (as_of) or as known at a time (known_at)."""
    scope = caller_scope()
    kind, key = _address(kind, key)
    query = query_args()
    return services().registry.get_record(scope, kind, key, query["as_of"],
                                          query["known_at"])


@v1.get("/tenants")
@documented("The tenants you can see", "listTenants", {200: reply("TenantList")}, (401, 503))
def list_tenants():
    """The tenants the caller can see (its subtree), in code order."""
    scope = caller_scope()
    tree = scope.tree
    return {"tenants": [tree.get(code).as_json() for code in scope.visible_tenants()]}


@v1.get("/tenants/<code>")
@documented("One tenant with its ancestors and children", "getTenant",
            {200: reply("TenantDetail")}, (401, 403, 404, 503))
def get_tenant(code: str):
    """One tenant with its ancestors and children."""
    scope = caller_scope()
    tenant = scope.visible_tenant(code)
    return {"tenant": tenant.as_json(),
            "ancestors": [scope.tree.get(a).as_json() for a in scope.tree.ancestors(code)],
            "children": [c.as_json() for c in scope.tree.children(code)]}


@v1.get("/health")
@documented("Liveness", "health", {200: reply("Health")}, public=True)
def health():
    """Liveness: the process answers."""
    return {"status": "ok"}


def projection_position() -> int:
    """Wait for `min_position` (read-your-writes) and remember the position served."""
    settings = current_app.config["REGISTRY_SETTINGS"]
    wanted = query_args()["min_position"]
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
@documented("Counts of the subtree by kind and state, and per child", "tenantCounts",
            {200: reply("Counts", projected=True)}, (401, 403, 404, 422, 503),
            query=CountsQuery)
def tenant_counts(code: str):
    """Counts by kind and state for the tenant's subtree and each child, on a date."""
    scope = caller_scope()
    svc = services()
    query = query_args()
    position = projection_position()
    return svc.read_models.counts(scope, code, query["as_of"] or svc.registry.clock.today(),
                                  query["known_at"], position)


FILTERS = tuple(RecordFilters().fields.keys() - Projected().fields.keys())


def record_filters() -> dict:
    """The filters of GET /v1/records and GET /v1/records.csv."""
    query = query_args()
    filters = {name: query[name] for name in FILTERS}
    if (filters["valid_until_from"] and filters["valid_until_to"]
            and filters["valid_until_from"] > filters["valid_until_to"]):
        raise InvalidInput({"valid_until_to": ["Must not be before valid_until_from."]})
    return filters


@v1.get("/records")
@documented("Search records in your scope (cursor pagination)", "searchRecords",
            {200: reply("RecordList", projected=True)}, (401, 403, 404, 422, 503),
            query=RecordSearch)
def search_records():
    """Records in the caller's scope, filtered, a page at a time (cursor pagination)."""
    scope = caller_scope()
    svc = services()
    filters = record_filters()
    projection_position()
    query = query_args()
    return svc.read_models.search(scope, svc.registry.clock.today(), limit=query["limit"],
                                  cursor=query["cursor"], **filters)


@v1.get("/ready")
@documented("Readiness: database reachable, projection lag", "ready", {200: reply("Ready")},
            (503,), public=True)
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
@documented("Public search: exact key, exact USCC, or the start of a holder's name (at least "
            "2 characters, at most 20 results, limited per address)", "publicSearch",
            {200: reply("PublicSearch")}, (422, 503), query=PublicSearchQuery, public=True)
def public_search():
    """Find records publicly: by exact certificate key, exact USCC, or the start of the
    holder's name (at least 2 characters; at most 20 results; limited per address)."""
    public_request()
    q = query_args()["q"]
    if len(q.strip()) < 2:
        raise InvalidInput({"q": ["Give at least 2 characters: a key, a USCC or the start of "
                                  "a holder's name."]})
    svc = services()
    projection_position()
    found = svc.read_models.public_search(q, svc.registry.clock.today())
    for entry in found:
        entry["verify_url"] = public_url(entry["kind"], entry["record"])
    return {"records": found}


@v1.get("/public/records/<kind>/<path:key>")
@documented("Public verification of a record", "publicRecord", {200: reply("PublicRecord")},
            (404, 503), public=True)
def public_record(kind: str, key: str):
    """Public verification of a certificate or other record: no token needed (limited per
    client address)."""
    public_request()
    kind, key = _address(kind, key)
    return services().registry.public_record(kind, key)
