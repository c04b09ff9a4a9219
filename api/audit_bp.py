"""The audit feed and exports (issue 6): JSON pages, JSON Lines and CSV streams."""

from __future__ import annotations

import csv
import io
import json
from typing import Any, Iterator

from flask import Blueprint, Response, request, stream_with_context

from api.auth import caller_scope
from api.blueprints import projection_position, record_filters
from api.context import services
from api.jsonenc import wire_default
from api.params import date_param, int_param, timestamp_param
from events import EVENT_TYPES, KINDS
from tenants.errors import InvalidInput

audit_bp = Blueprint("audit", __name__, url_prefix="/v1")
AUDIT_TYPES = sorted([*EVENT_TYPES, "principal.added", "principal.revoked", "plan.adopted",
                      "plan.target_set", "plan.opening_recorded"])


def audit_filters() -> dict[str, Any]:
    args = request.args
    kind, type_ = args.get("kind") or None, args.get("type") or None
    if kind is not None and kind not in KINDS:
        raise InvalidInput({"kind": [f"Must be one of {', '.join(KINDS)}."]})
    if type_ is not None and type_ not in AUDIT_TYPES:
        raise InvalidInput({"type": ["Not an event type of the audit feed."]})
    record = args.get("record") or None
    if record is not None and len(record) > 200:
        raise InvalidInput({"record": ["Longer than 200 characters."]})
    actor = args.get("actor") or None
    if actor is not None and len(actor) > 64:
        raise InvalidInput({"actor": ["Longer than 64 characters."]})
    return {"kind": kind, "type": type_, "record": record, "actor": actor,
            "from": timestamp_param("from"), "to": timestamp_param("to"),
            "occurred_from": date_param("occurred_from"),
            "occurred_to": date_param("occurred_to")}


@audit_bp.get("/tenants/<code>/events")
def audit_feed(code: str):
    """The subtree's events in position order, a page at a time (`after` = last position)."""
    scope = caller_scope()
    filters = audit_filters()
    after = int_param("after", 0, 0, 2**62)
    limit = int_param("limit", 100, 1, 1000)
    projection_position()
    return services().audit.page(scope, code, after, limit, filters)


@audit_bp.get("/tenants/<code>/events.jsonl")
def audit_export(code: str):
    """Every event of the subtree as JSON Lines, streamed (constant memory)."""
    scope = caller_scope()
    filters = audit_filters()
    projection_position()
    rows = services().audit.stream(scope, code, filters)

    def lines() -> Iterator[str]:
        for _, document in rows:
            yield json.dumps(document, ensure_ascii=False, default=wire_default) + "\n"

    return Response(stream_with_context(lines()), mimetype="application/x-ndjson",
                    headers={"Content-Disposition":
                             f'attachment; filename="events-{code}.jsonl"'})


RECORD_CSV = ["kind", "record", "tenant", "status", "voided", "holder_name", "holder_uscc",
              "label", "valid_until", "level", "gi_type", "created_on", "last_occurred_on",
              "version", "position"]


@audit_bp.get("/records.csv")
def records_csv():
    """The record list (same filters as GET /v1/records) as CSV, streamed."""
    scope = caller_scope()
    svc = services()
    filters = record_filters()
    projection_position()
    today = svc.registry.clock.today()
    first = svc.read_models.search(scope, today, limit=500, **filters)  # scope checked here

    def lines() -> Iterator[str]:
        page = first
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=RECORD_CSV)
        buffer.write("\ufeff")
        writer.writeheader()
        while True:
            for record in page["records"]:
                holder = record.pop("holder") or {}
                writer.writerow({**{k: record.get(k) for k in RECORD_CSV},
                                 "holder_name": holder.get("name"),
                                 "holder_uscc": holder.get("uscc")})
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
            if not page["next"]:
                return
            page = svc.read_models.search(scope, today, limit=500, cursor=page["next"],
                                          **filters)

    return Response(stream_with_context(lines()), mimetype="text/csv",
                    headers={"Content-Disposition": 'attachment; filename="records.csv"'})


