"""The audit feed and exports (issue 6): JSON pages, JSON Lines and CSV streams."""

from __future__ import annotations

import json
from typing import Any, Iterator
from uuid import UUID

from flask import Blueprint, Response, request, stream_with_context

from api.auth import caller_scope
from api.blueprints import RecordFilters, projection_position, record_filters
from api.context import services
from api.exports import Column, download
from api.jsonenc import wire_default
from api.apidoc import documented, query_args, reply, text_reply
from api.query import Projected, QDate, QInt, QText, QTime
from events import EVENT_TYPES, KINDS
from events.wire import AUDITED_TYPES
from tenants.errors import InvalidInput
from tenants.principals import OPERATOR

audit_bp = Blueprint("audit", __name__, url_prefix="/v1")
AUDIT_TYPES = sorted([*EVENT_TYPES, *(cls.TYPE for cls in AUDITED_TYPES)])


class AuditFilters(Projected):
    """The filters of the audit feed and its exports (and of the dashboard's audit page)."""

    kind = QText("Only events of this kind.", max_length=32, choices=KINDS)
    type = QText("Only this event type.", max_length=64)
    actor = QText("Only events by this principal: its id, or the start of its name.",
                  max_length=64)
    record = QText("Only this record key.", max_length=200)
    # `from` is a Python keyword: the field is named by data_key
    from_ = QTime("Recorded at or after.", data_key="from")
    to = QTime("Recorded before.")
    occurred_from = QDate("Business date on or after.")
    occurred_to = QDate("Business date on or before.")


class FeedPage(AuditFilters):
    order = QText("asc (default): oldest first; desc: newest first.", max_length=4,
                  choices=("asc", "desc"))
    after = QInt("asc: position after which to continue (the previous `next`); desc: the page "
                 "just newer (the previous `prev`).")
    before = QInt("desc: position before which to continue (the previous `next`).", minimum=1)
    limit = QInt("Page size (default 100).", minimum=1, maximum=1000, load_default=100)


EXPORTED = documented(
    "Every event of the subtree as JSON Lines (streamed)", "auditExport",
    {200: text_reply("application/x-ndjson", "One audit document per line")},
    (401, 403, 404, 422, 503), query=AuditFilters)


def audit_filters(schema: type[AuditFilters] | None = None) -> dict[str, Any]:
    query = query_args(schema)
    type_, actor = query["type"], query["actor"]
    if type_ is not None and type_ not in AUDIT_TYPES:
        raise InvalidInput({"type": ["Not an event type of the audit feed."]})
    actor_ids = None
    if actor is not None and not _is_id(actor):  # a name, or the start of one
        wanted = actor.casefold()
        actor_ids = {p.id for p in services().directory.principals()
                     if p.name.casefold().startswith(wanted)}
        actor = None
    return {"kind": query["kind"], "type": type_, "record": query["record"], "actor": actor,
            "actor_ids": actor_ids, "from": query["from_"], "to": query["to"],
            "occurred_from": query["occurred_from"], "occurred_to": query["occurred_to"]}


def _is_id(value: str) -> bool:
    """A principal id as the feed shows it (a UUID, or the operator's fixed id)."""
    try:
        UUID(value)
        return True
    except ValueError:
        return value == OPERATOR.id


@audit_bp.get("/tenants/<code>/events")
@documented("The audit feed of the subtree (admins and auditors)", "auditFeed",
            {200: reply("AuditPage", projected=True)}, (401, 403, 404, 422, 503),
            query=FeedPage)
def audit_feed(code: str):
    """The subtree's events a page at a time: oldest first (`after` = the last position
    seen), or newest first with `order=desc` (`before`, or `after` for the newer page)."""
    scope = caller_scope()
    filters = audit_filters()
    query = query_args()
    order, after, before, limit = (query["order"] or "asc", query["after"], query["before"],
                                   query["limit"])
    projection_position()
    if order == "asc":
        return services().audit.page(scope, code, after or 0, limit, filters)
    return services().audit.page(scope, code, after, limit, filters, "desc", before)


@audit_bp.get("/tenants/<code>/events.jsonl")
@EXPORTED
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


RECORD_COLUMNS = [
    Column("kind", "类别"), Column("record", "记录编号", width=20), Column("tenant", "地区代码"),
    Column("status", "状态"), Column("voided", "已作废", "bool"),
    Column("holder_name", "持有人", width=28), Column("holder_uscc", "统一社会信用代码", width=20),
    Column("label", "名称", width=24), Column("valid_until", "有效期至", "date"),
    Column("level", "级别"), Column("gi_type", "地理标志类型"),
    Column("created_on", "创建日期", "date"), Column("last_occurred_on", "最近事件日期", "date"),
    Column("version", "版本", "number"), Column("position", "日志序号", "number"),
]
EVENT_COLUMNS = [
    Column("position", "日志序号", "number"), Column("recorded_at", "登记时间(UTC)", "time"),
    Column("occurred_on", "发生日期", "date"), Column("type", "事件类型", width=28),
    Column("kind", "类别"), Column("record", "记录编号", width=20), Column("tenant", "地区代码"),
    Column("actor_name", "登记人", width=24), Column("actor_role", "角色"),
    Column("actor_id", "登记人ID"), Column("id", "事件ID"), Column("data", "内容(JSON)", width=50),
]


@audit_bp.get("/records.csv")
@audit_bp.get("/records.xlsx", endpoint="records_xlsx")
@documented("The record list as CSV (same filters as /v1/records)", "recordsCsv",
            {200: text_reply("text/csv", "CSV (UTF-8 with BOM)")}, (401, 403, 404, 422, 503),
            query=RecordFilters)
def records_csv():
    """The record list (same filters as GET /v1/records) as CSV or Excel, streamed."""
    scope = caller_scope()
    svc = services()
    filters = record_filters()
    projection_position()
    today = svc.registry.clock.today()
    first = svc.read_models.search(scope, today, limit=500, **filters)  # scope checked here

    def rows() -> Iterator[dict[str, Any]]:
        page = first
        while True:
            for record in page["records"]:
                holder = record.pop("holder") or {}
                yield {**record, "holder_name": holder.get("name"),
                       "holder_uscc": holder.get("uscc")}
            if not page["next"]:
                return
            page = svc.read_models.search(scope, today, limit=500, cursor=page["next"],
                                          **filters)

    return download(RECORD_COLUMNS, rows, "records", request.path.endswith(".xlsx"),
                    "records")


@audit_bp.get("/tenants/<code>/events.xlsx")
@EXPORTED  # documented as the Excel twin of events.jsonl
def audit_xlsx(code: str):
    """The subtree's audit feed as Excel, one row per event (its data as JSON text)."""
    scope = caller_scope()
    filters = audit_filters()
    projection_position()
    found = services().audit.stream(scope, code, filters)

    def rows() -> Iterator[dict[str, Any]]:
        for position, document in found:
            actor = document.get("actor") or {}
            yield {**document, "position": position, "actor_name": actor.get("name"),
                   "actor_role": actor.get("role"), "actor_id": actor.get("id"),
                   "data": json.dumps(document.get("data"), ensure_ascii=False,
                                      default=wire_default)}

    return download(EVENT_COLUMNS, rows, f"events-{code}", True, f"events {code}")
