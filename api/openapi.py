"""The OpenAPI 3.1 document (/openapi.json) and a readable page (/docs), both offline."""

from __future__ import annotations

import copy

import html
from functools import lru_cache
from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Blueprint, Response, jsonify

from events import EVENT_TYPES, KINDS
from events.fields import HolderSchema
from api.exports import XLSX_MIME
from events.openings import RecordOpeningBody
from events.plans import PlanOpeningBody, SetTargetBody

docs = Blueprint("docs", __name__)

PROBLEM = {"$ref": "#/components/schemas/Problem"}
DATE = {"type": "string", "format": "date"}
TIMESTAMP = {"type": "string", "format": "date-time"}


def _problem_responses(*codes: int) -> dict[str, Any]:
    text = {400: "Malformed body", 401: "No or bad token", 403: "Outside your scope",
            404: "Not found (or not visible to you)", 409: "Conflict with the current state",
            413: "Body too large", 422: "Invalid fields", 503: "Not ready (the database is "
            "unreachable, the projections have not reached min_position, or the read models "
            "are being rebuilt after an upgrade); retry after the Retry-After header"}
    return {str(c): {"description": text[c],
                     "content": {"application/problem+json": {"schema": PROBLEM}}}
            for c in codes}


def _json(schema: dict, description: str = "OK") -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


KIND_PARAM = {"name": "kind", "in": "path", "required": True,
              "schema": {"type": "string", "enum": list(KINDS)}}
KEY_PARAM = {"name": "key", "in": "path", "required": True,
             "description": "The record's key, URL-encoded ('/' as %2F).",
             "schema": {"type": "string", "minLength": 1, "maxLength": 200}}
CODE_PARAM = {"name": "code", "in": "path", "required": True,
              "schema": {"type": "string", "pattern": "^[0-9]{6}$"}}


def _query(name: str, schema: dict, description: str) -> dict:
    return {"name": name, "in": "query", "required": False, "schema": schema,
            "description": description}


AS_OF = _query("as_of", DATE, "Business date (Asia/Shanghai calendar).")
VALID_UNTIL = [_query("valid_until_from", DATE, "Expiry watch: validity ends on or after this "
                      "date."),
               _query("valid_until_to", DATE, "Expiry watch: validity ends on or before "
                      "this date.")]
KNOWN_AT = _query("known_at", TIMESTAMP, "Recorded time: only events recorded by then count. "
                  "A bare date means the end of that day in Asia/Shanghai.")


BATCH_DESCRIPTION = (
    "All envelopes are stored in one transaction, or none. Envelopes are decided in order, each "
    "against the state left by the earlier envelopes of the batch that were not refused (an "
    "issue and a suspension of the same record may share a batch). Idempotency is per "
    "envelope id: resending a whole stored batch answers 200 with the original results; a "
    "batch mixing stored and new ids is refused (409, `envelope-already-stored` at each "
    "stored index); one id twice in a batch is a 422 naming both indexes. A refused batch is "
    "one problem (`/problems/batch-refused`) listing every refused index: field errors under "
    "`errors` (index -> field -> messages), and the problem of each other refused envelope "
    "under `conflicts` (409), `forbidden` (403) or `not_found` (404). Its status is the first "
    "of 422, 409, 403, 404 that any refused envelope has. Well-formedness is checked first: a "
    "batch with malformed envelopes is answered 422 before any is checked against the state. "
    "More than 1000 envelopes: 413 (`max_events`). Body limit 16 MiB.")


def _paths() -> dict[str, Any]:
    secured = [{"bearer": []}]
    return {
        "/v1/events": {"post": {
            "summary": "Record one lifecycle event", "operationId": "postEvent",
            "security": secured,
            "requestBody": {"required": True,
                            "content": {"application/json": {"schema": _ref("Envelope")}}},
            "responses": {"201": _json(_ref("Receipt"), "Stored"),
                          "200": _json(_ref("Receipt"), "Already stored (same id, same body)"),
                          **_problem_responses(400, 401, 403, 404, 409, 413, 422, 503)}}},
        "/v1/events/batch": {"post": {
            "summary": "Record up to 1000 events atomically", "operationId": "postEventBatch",
            "description": BATCH_DESCRIPTION, "security": secured,
            "requestBody": {"required": True,
                            "content": {"application/json": {"schema": _ref("BatchRequest")}}},
            "responses": {
                "201": _json(_ref("BatchResults"), "All stored; one receipt per envelope, in "
                             "order"),
                "200": _json(_ref("BatchResults"), "Every envelope was already stored with "
                             "the same body (a retry): the original results, nothing new"),
                **_problem_responses(400, 401, 413, 503),
                **{str(code): {"description": text, "content": {
                    "application/problem+json": {"schema": _ref("BatchRefused")}}}
                   for code, text in ((422, "Invalid envelopes (or body): field errors per "
                                            "index; nothing stored"),
                                      (409, "Envelopes in conflict with the state, ids already "
                                            "stored in a mixed batch; nothing stored"),
                                      (403, "Envelopes outside your scope; nothing stored"),
                                      (404, "Later events for records you cannot see; nothing "
                                            "stored"))}}}},
        "/v1/records/{kind}/{key}": {"get": {
            "summary": "A record's state", "operationId": "getRecord", "security": secured,
            "parameters": [KIND_PARAM, KEY_PARAM, AS_OF, KNOWN_AT],
            "responses": {"200": _json(_ref("RecordState")),
                          **_problem_responses(401, 404, 422, 503)}}},
        "/v1/records/{kind}/{key}/events": {"get": {
            "summary": "A record's full history", "operationId": "getRecordHistory",
            "security": secured, "parameters": [KIND_PARAM, KEY_PARAM],
            "responses": {"200": _json(_ref("EventList")), **_problem_responses(401, 404, 503)}}},
        "/v1/tenants": {"get": {
            "summary": "The tenants you can see", "operationId": "listTenants",
            "security": secured,
            "responses": {"200": _json({"type": "object", "required": ["tenants"],
                                        "properties": {"tenants": {"type": "array",
                                                                   "items": _ref("Tenant")}}}),
                          **_problem_responses(401, 503)}}},
        "/v1/tenants/{code}": {"get": {
            "summary": "One tenant with its ancestors and children", "operationId": "getTenant",
            "security": secured, "parameters": [CODE_PARAM],
            "responses": {"200": _json({"type": "object",
                                        "required": ["tenant", "ancestors", "children"],
                                        "properties": {
                                            "tenant": _ref("Tenant"),
                                            "ancestors": {"type": "array", "items": _ref("Tenant")},
                                            "children": {"type": "array", "items": _ref("Tenant")}}}),
                          **_problem_responses(401, 403, 404, 503)}}},
        "/v1/health": {"get": {
            "summary": "Liveness", "operationId": "health", "security": [],
            "responses": {"200": _json({"type": "object", "required": ["status"],
                                        "properties": {"status": {"type": "string"}}})}}},
        "/v1/public/records/{kind}/{key}": {"get": {
            "summary": "Public verification of a record", "operationId": "publicRecord",
            "security": [], "parameters": [KIND_PARAM, KEY_PARAM],
            "responses": {"200": _json(_ref("PublicRecord")), **_problem_responses(404, 503)}}},
        "/v1/subscriptions": {"post": {
            "summary": "Subscribe a URL to events of some types in a subtree (admins and "
                       "certification bodies); the answer holds the signing secret, once",
            "operationId": "createSubscription", "security": [{"bearer": []}],
            "requestBody": {"required": True, "content": {"application/json": {"schema": {
                "type": "object", "required": ["url", "types", "tenant"],
                "additionalProperties": False,
                "properties": {"url": {"type": "string", "maxLength": 2000},
                               "types": {"type": "array", "minItems": 1, "maxItems": 50,
                                         "items": {"type": "string"}},
                               "tenant": {"type": "string", "pattern": "^[0-9]{6}$"}}}}}},
            "responses": {"201": _json({"type": "object", "required": ["id", "secret"]},
                                       "Stored as a subscription.created event"),
                          **_problem_responses(400, 401, 403, 404, 413, 422, 503)}}},
        "/v1/subscriptions/{subscription_id}": {"get": {
            "summary": "A subscription: state (pending, active, failing), the last position "
                       "delivered, the last error", "operationId": "getSubscription",
            "security": [{"bearer": []}], "parameters": [SUBSCRIPTION_PATH],
            "responses": {"200": _json({"type": "object", "required": ["id", "state"]}),
                          **_problem_responses(401, 404, 503)}}},
        "/v1/subscriptions/{subscription_id}/resume": {"post": {
            "summary": "Resume deliveries to a failing subscription",
            "operationId": "resumeSubscription", "security": [{"bearer": []}],
            "parameters": [SUBSCRIPTION_PATH],
            "responses": {"200": _json({"type": "object"}),
                          **_problem_responses(401, 404, 503)}}},
        "/v1/public/records": {"get": {
            "summary": "Public search: exact key, exact USCC, or the start of a holder's name "
                       "(at least 2 characters, at most 20 results, limited per address)",
            "operationId": "publicSearch", "security": [],
            "parameters": [{"name": "q", "in": "query", "required": True,
                            "schema": {"type": "string", "minLength": 2, "maxLength": 200}},
                           MIN_POSITION],
            "responses": {"200": _json({"type": "object", "required": ["records"],
                                        "properties": {"records": {
                                            "type": "array", "maxItems": 20,
                                            "items": {"type": "object"}}}}),
                          **_problem_responses(422, 503)}}},
    }


MIN_POSITION = _query("min_position", {"type": "integer", "minimum": 0},
                      "Read-your-writes: wait (up to 5 s) until the projections reflect this "
                      "position, else 503 with Retry-After.")
PLAN = {"name": "plan", "in": "query", "required": True, "schema": {"type": "string"},
        "description": "A plan id, e.g. zhejiang-14th-fyp."}
SUBSCRIPTION_PATH = {"name": "subscription_id", "in": "path", "required": True,
                     "schema": {"type": "string"}}
PLAN_PATH = {"name": "plan_id", "in": "path", "required": True, "schema": {"type": "string"}}
POSITION_HEADER = {"X-Registry-Position": {
    "description": "The log position the read models reflected for this answer.",
    "schema": {"type": "integer"}}}


def _projected(schema: dict) -> dict:
    response = _json(schema)
    response["headers"] = POSITION_HEADER
    return response


AUDIT_FILTERS = [
    _query("kind", {"type": "string", "enum": list(KINDS)}, "Only events of this kind."),
    _query("type", {"type": "string"}, "Only this event type."),
    _query("actor", {"type": "string", "maxLength": 64},
           "Only events by this principal: its id, or the start of its name."),
    _query("record", {"type": "string", "maxLength": 200}, "Only this record key."),
    _query("from", TIMESTAMP, "Recorded at or after."),
    _query("to", TIMESTAMP, "Recorded before."),
    _query("occurred_from", DATE, "Business date on or after."),
    _query("occurred_to", DATE, "Business date on or before."),
]


def _read_paths() -> dict[str, Any]:
    """Endpoints served from the projections, and the plan endpoints."""
    secured = [{"bearer": []}]
    return {
        "/v1/tenants/{code}/counts": {"get": {
            "summary": "Counts of the subtree by kind and state, and per child",
            "operationId": "tenantCounts", "security": secured,
            "parameters": [CODE_PARAM, AS_OF, KNOWN_AT, MIN_POSITION],
            "responses": {"200": _projected(_ref("Counts")),
                          **_problem_responses(401, 403, 404, 422, 503)}}},
        "/v1/records": {"get": {
            "summary": "Search records in your scope (cursor pagination)",
            "operationId": "searchRecords", "security": secured,
            "parameters": [
                _query("kind", {"type": "string", "enum": list(KINDS)}, "Only this kind."),
                _query("tenant", {"type": "string", "pattern": "^[0-9]{6}$"},
                       "Only this tenant's subtree."),
                _query("status", {"type": "string"}, "State today (implicit expiry counts)."),
                _query("holder", {"type": "string", "maxLength": 200},
                       "A USCC (exact) or part of the holder's name."),
                _query("q", {"type": "string", "maxLength": 200},
                       "Part of the key, product/title or holder name."),
                _query("include_voided", {"type": "boolean"}, "Also list voided records."),
                *VALID_UNTIL,
                _query("limit", {"type": "integer", "minimum": 1, "maximum": 500},
                       "Page size (default 50)."),
                _query("cursor", {"type": "string"}, "The `next` of the previous page."),
                MIN_POSITION],
            "responses": {"200": _projected(_ref("RecordList")),
                          **_problem_responses(401, 403, 404, 422, 503)}}},
        "/v1/tenants/{code}/events": {"get": {
            "summary": "The audit feed of the subtree (admins and auditors)",
            "operationId": "auditFeed", "security": secured,
            "parameters": [CODE_PARAM, *AUDIT_FILTERS,
                           _query("order", {"type": "string", "enum": ["asc", "desc"]},
                                  "asc (default): oldest first; desc: newest first."),
                           _query("after", {"type": "integer", "minimum": 0},
                                  "asc: position after which to continue (the previous "
                                  "`next`); desc: the page just newer (the previous `prev`)."),
                           _query("before", {"type": "integer", "minimum": 1},
                                  "desc: position before which to continue (the previous "
                                  "`next`)."),
                           _query("limit", {"type": "integer", "minimum": 1, "maximum": 1000},
                                  "Page size (default 100)."), MIN_POSITION],
            "responses": {"200": _projected(_ref("AuditPage")),
                          **_problem_responses(401, 403, 404, 422, 503)}}},
        "/v1/tenants/{code}/events.jsonl": {"get": {
            "summary": "Every event of the subtree as JSON Lines (streamed)",
            "operationId": "auditExport", "security": secured,
            "parameters": [CODE_PARAM, *AUDIT_FILTERS, MIN_POSITION],
            "responses": {"200": {"description": "One audit document per line",
                                  "content": {"application/x-ndjson": {
                                      "schema": {"type": "string"}}}},
                          **_problem_responses(401, 403, 404, 422, 503)}}},
        "/v1/records.csv": {"get": {
            "summary": "The record list as CSV (same filters as /v1/records)",
            "operationId": "recordsCsv", "security": secured,
            "parameters": [
                _query("kind", {"type": "string", "enum": list(KINDS)}, "Only this kind."),
                _query("tenant", {"type": "string", "pattern": "^[0-9]{6}$"},
                       "Only this tenant's subtree."),
                _query("status", {"type": "string"}, "State today."),
                _query("holder", {"type": "string", "maxLength": 200}, "USCC or name part."),
                _query("q", {"type": "string", "maxLength": 200}, "Text search."),
                _query("include_voided", {"type": "boolean"}, "Also voided records."),
                *VALID_UNTIL, MIN_POSITION],
            "responses": {"200": {"description": "CSV (UTF-8 with BOM)",
                                  "content": {"text/csv": {"schema": {"type": "string"}}}},
                          **_problem_responses(401, 403, 404, 422, 503)}}},
        "/v1/ready": {"get": {
            "summary": "Readiness: database reachable, projection lag", "operationId": "ready",
            "security": [], "responses": {"200": _json(_ref("Ready")),
                                          **_problem_responses(503)}}},
        "/v1/plans": {"get": {
            "summary": "Plans", "operationId": "listPlans", "security": secured,
            "responses": {"200": _json({"type": "object", "required": ["plans"], "properties": {
                "plans": {"type": "array", "items": _ref("PlanSummary")}}}),
                **_problem_responses(401, 503)}}},
        "/v1/plans/{plan_id}": {"get": {
            "summary": "A plan: indicators, and the targets and openings you can see",
            "operationId": "getPlan", "security": secured, "parameters": [PLAN_PATH],
            "responses": {"200": _json(_ref("PlanDetail")),
                          **_problem_responses(401, 404, 503)}}},
        "/v1/plans/{plan_id}/targets": {"post": {
            "summary": "Set or amend a tenant's target (admins of the subtree)",
            "operationId": "setTarget", "security": secured, "parameters": [PLAN_PATH],
            "requestBody": {"required": True, "content": {"application/json": {
                "schema": _ref("SetTargetBody")}}},
            "responses": {"201": _json({"type": "object"}, "Stored as a plan.target_set event"),
                          **_problem_responses(400, 401, 403, 404, 409, 413, 422, 503)}}},
        "/v1/plans/{plan_id}/openings": {"post": {
            "summary": "Record an opening balance (admins of the subtree)",
            "operationId": "recordOpening", "security": secured, "parameters": [PLAN_PATH],
            "requestBody": {"required": True, "content": {"application/json": {
                "schema": _ref("PlanOpeningBody")}}},
            "responses": {"201": _json({"type": "object"},
                                       "Stored as an opening.recorded event of the tenant "
                                       "(the indicator key names the measure)"),
                          **_problem_responses(400, 401, 403, 404, 409, 413, 422, 503)}}},
        "/v1/tenants/{code}/openings": {
            "post": {
                "summary": "Record an opening: a measure's value for the tenant on a date",
                "operationId": "recordTenantOpening", "security": secured,
                "parameters": [CODE_PARAM],
                "requestBody": {"required": True, "content": {"application/json": {
                    "schema": _ref("RecordOpeningBody")}}},
                "responses": {"201": _json({"type": "object", "required": ["opening"],
                                            "properties": {"opening": _ref("Opening")}},
                                           "Stored as an opening.recorded event"),
                              **_problem_responses(400, 401, 403, 404, 409, 413, 422, 503)}},
            "get": {
                "summary": "The openings of the tenant's subtree", "operationId":
                    "listTenantOpenings", "security": secured, "parameters": [CODE_PARAM],
                "responses": {"200": _json({"type": "object", "required": ["openings"],
                                            "properties": {"tenant": _ref("Tenant"),
                                                           "openings": {"type": "array",
                                                                        "items": _ref("Opening")}}}),
                              **_problem_responses(401, 403, 404, 503)}}},
        "/v1/tenants/{code}/progress": {"get": {
            "summary": "Progress against a plan for the tenant and each child",
            "operationId": "tenantProgress", "security": secured,
            "parameters": [CODE_PARAM, PLAN, AS_OF, MIN_POSITION],
            "responses": {"200": _projected(_ref("Progress")),
                          **_problem_responses(401, 403, 404, 422, 503)}}},
        "/v1/tenants/{code}/progress.csv": {"get": {
            "summary": "The progress table as CSV", "operationId": "tenantProgressCsv",
            "security": secured, "parameters": [CODE_PARAM, PLAN, AS_OF, MIN_POSITION],
            "responses": {"200": {"description": "CSV (UTF-8 with BOM)",
                                  "content": {"text/csv": {"schema": {"type": "string"}}}},
                          **_problem_responses(401, 403, 404, 422, 503)}}},
        "/v1/tenants/{code}/progress/series": {"get": {
            "summary": "Yearly values of each indicator against the linear path",
            "operationId": "tenantProgressSeries", "security": secured,
            "parameters": [CODE_PARAM, PLAN, AS_OF, MIN_POSITION],
            "responses": {"200": _projected(_ref("ProgressSeries")),
                          **_problem_responses(401, 403, 404, 422, 503)}}},
    }


def _ledger_paths() -> dict[str, Any]:
    """The public ledger endpoints (no token: a regulator verifies offline)."""
    checkpoint = {
        "type": "object",
        "required": ["position", "hash", "signed_at", "signature", "algorithm", "key_id",
                     "public_key", "message"],
        "properties": {
            "position": {"type": "integer", "description": "The last sealed position covered."},
            "hash": {"type": "string", "pattern": "^[0-9a-f]{64}$",
                     "description": "The ledger entry hash at `position` (SHA-256, hex)."},
            "signed_at": {"type": "string", "description": "ISO UTC timestamp ending in Z."},
            "signature": {"type": "string", "contentEncoding": "base64",
                          "description": "Ed25519 signature of `message`."},
            "algorithm": {"const": "Ed25519"},
            "key_id": {"type": "string",
                       "description": "First 16 hex characters of SHA-256 of the raw key."},
            "public_key": {"type": ["string", "null"], "description": "PEM (SPKI)."},
            "message": {"type": "string",
                        "description": "Exactly what was signed (ASCII): "
                                       "qbr-ledger-v1|{position}|{hash}|{signed_at}"}}}
    return {
        "/v1/ledger/checkpoints/latest": {"get": {
            "summary": "The latest signed head of the tamper-evident ledger",
            "description": "404 until the first checkpoint is signed. Pin the public key "
                           "out of band: the one in the answer is for convenience.",
            "operationId": "latestLedgerCheckpoint", "security": [],
            "responses": {"200": _json(checkpoint), **_problem_responses(404, 503)}}},
        "/v1/ledger/public-key": {"get": {
            "summary": "The Ed25519 public key that signs ledger checkpoints (PEM)",
            "operationId": "ledgerPublicKey", "security": [],
            "responses": {"200": {"description": "PEM (SubjectPublicKeyInfo); the key id is "
                                                 "in the X-Key-Id header",
                                  "content": {"application/x-pem-file": {
                                      "schema": {"type": "string"}}}},
                          **_problem_responses(404, 503)}}},
    }


def _read_components(spec: APISpec) -> None:
    count_map = {"type": "object", "additionalProperties": {"type": "integer"}}
    kind_counts = {"type": "object", "additionalProperties": {
        "oneOf": [{"type": "integer"}, count_map]}}
    spec.components.schema("CountsObject", {
        "type": "object", "additionalProperties": kind_counts,
        "description": "certification {valid, suspended, withdrawn, expired, holders_valid}, "
                       "international_certificate {held}, standard {...}, award {..., "
                       "granted_by_level}, gi {..., registered_by_type}; only readable kinds."})
    spec.components.schema("Counts", {
        "type": "object", "required": ["tenant", "as_of", "position", "counts", "children"],
        "properties": {"tenant": _ref("Tenant"), "as_of": DATE,
                       "known_at": {"type": ["string", "null"]},
                       "position": {"type": "integer"}, "counts": _ref("CountsObject"),
                       "children": {"type": "array", "items": {
                           "type": "object", "required": ["tenant", "counts"],
                           "properties": {"tenant": _ref("Tenant"),
                                          "counts": _ref("CountsObject")}}}}})
    spec.components.schema("RecordSummary", {
        "type": "object", "required": ["kind", "record", "tenant", "status", "voided"],
        "properties": {"kind": {"type": "string"}, "record": {"type": "string"},
                       "tenant": {"type": "string"}, "status": {"type": "string"},
                       "voided": {"type": "boolean"},
                       "holder": {"type": ["object", "null"]},
                       "label": {"type": ["string", "null"]},
                       "valid_until": {"type": ["string", "null"]},
                       "version": {"type": "integer"}, "position": {"type": "integer"}}})
    spec.components.schema("RecordList", {
        "type": "object", "required": ["records", "next"],
        "properties": {"records": {"type": "array", "items": _ref("RecordSummary")},
                       "next": {"type": ["string", "null"]}}})
    spec.components.schema("AuditPage", {
        "type": "object", "required": ["events", "next"],
        "properties": {"events": {"type": "array", "items": {"type": "object"}},
                       "next": {"type": ["integer", "null"]},
                       "prev": {"type": ["integer", "null"],
                                "description": "order=desc: the `after` of the newer page"}}})
    spec.components.schema("Ready", {
        "type": "object", "required": ["status", "database", "head_position", "projection"],
        "properties": {"status": {"type": "string"}, "database": {"type": "string"},
                       "head_position": {"type": "integer"},
                       "projection": {"type": "object"}}})
    spec.components.schema("PlanSummary", {
        "type": "object", "required": ["id", "tenant", "title", "period", "indicators"],
        "properties": {"id": {"type": "string"}, "tenant": {"type": "string"},
                       "title": {"type": "string"}, "title_en": {"type": "string"},
                       "period": {"type": "object"}, "indicators": {"type": "integer"},
                       "version": {"type": "integer"}}})
    spec.components.schema("PlanDetail", {
        "type": "object", "required": ["id", "tenant", "indicators", "targets", "openings"],
        "properties": {"id": {"type": "string"}, "tenant": {"type": "string"},
                       "indicators": {"type": "array", "items": {"type": "object"}},
                       "targets": {"type": "array", "items": {"type": "object"}},
                       "openings": {"type": "array", "items": {"type": "object"}}}})
    spec.components.schema("SetTargetBody", schema=SetTargetBody)
    spec.components.schema("RecordOpeningBody", schema=RecordOpeningBody)
    spec.components.schema("PlanOpeningBody", schema=PlanOpeningBody)
    spec.components.schema("Opening", {
        "type": "object", "required": ["tenant", "measure", "value", "on"],
        "properties": {"tenant": {"type": "string"}, "measure": {"type": "string"},
                       "value": {"type": "number"}, "on": DATE,
                       "source": {"type": ["string", "null"]},
                       "plan": {"type": ["string", "null"]},
                       "recorded_at": {"type": "string"}, "recorded_by": {"type": "object"},
                       "position": {"type": "integer"}}})
    spec.components.schema("IndicatorProgress", {
        "type": "object",
        "required": ["key", "value", "registry_value", "target", "expected", "achievement",
                     "status", "children"],
        "properties": {
            "key": {"type": "string"}, "name": {"type": ["string", "null"]},
            "form": {"type": ["string", "null"], "enum": ["ever", "in_period", "held", None]},
            "value": {"type": ["number", "null"]},
            "registry_value": {"type": ["number", "null"]},
            "opening": {"type": ["object", "null"]}, "baseline": {"type": ["object", "null"]},
            "target": {"type": ["object", "null"]}, "expected": {"type": ["number", "null"]},
            "achievement": {"type": ["number", "null"]},
            "status": {"type": "string", "enum": ["achieved", "on_track", "behind", "missed",
                                                  "unknown", "no_target", "not_tracked"]},
            "reason": {"type": ["string", "null"], "description":
                       "before_opening or no_stock_at_period_start when the value is unknown; "
                       "why an indicator is not tracked or not judged otherwise"},
            "counting": {"type": ["string", "null"]}, "measure": {"type": ["string", "null"]},
            "period": {"type": ["object", "null"]}, "stock": {"type": ["object", "null"]},
            "unallocated": {"type": ["number", "null"], "description":
                            "value minus the sum of the children's values"},
            "judged_on": DATE,
            "actual_reported": {"type": ["object", "null"]},
            "difference": {"type": ["number", "null"]},
            "children": {"type": "array", "items": {"type": "object"}},
            "children_target_sum": {"type": ["number", "null"]},
            "children_with_targets": {"type": "integer"}}})
    spec.components.schema("Progress", {
        "type": "object", "required": ["tenant", "plan", "as_of", "position", "indicators"],
        "properties": {"tenant": _ref("Tenant"), "plan": _ref("PlanSummary"), "as_of": DATE,
                       "position": {"type": "integer"},
                       "indicators": {"type": "array", "items": _ref("IndicatorProgress")}}})
    spec.components.schema("ProgressSeries", {
        "type": "object", "required": ["tenant", "plan", "as_of", "indicators"],
        "properties": {"tenant": _ref("Tenant"), "plan": _ref("PlanSummary"), "as_of": DATE,
                       "position": {"type": "integer"},
                       "indicators": {"type": "array", "items": {"type": "object"}}}})


def _components(spec: APISpec) -> None:
    spec.components.schema("Holder", schema=HolderSchema)
    variants = []
    for type_name, cls in EVENT_TYPES.items():
        data_name = f"{cls.__name__}Data"
        spec.components.schema(data_name, schema=cls.Payload)
        variant = {
            "type": "object", "additionalProperties": False,
            "required": ["id", "type", "record", "occurred_on", "data"]
            + (["kind"] if not cls.KIND else []),
            "properties": {
                "id": {"type": "string", "format": "uuid"},
                "type": {"const": type_name},
                "record": {"type": "string", "minLength": 1, "maxLength": 200},
                "kind": {"type": "string", "enum": [cls.KIND] if cls.KIND else list(KINDS)},
                "tenant": {"type": "string", "pattern": "^[0-9]{6}$"},
                "occurred_on": DATE,
                "expected_version": {"type": "integer", "minimum": 0},
                "data": _ref(data_name),
            },
        }
        spec.components.schema(f"{cls.__name__}Envelope", variant)
        variants.append(_ref(f"{cls.__name__}Envelope"))
    spec.components.schema("Envelope", {"oneOf": variants})
    spec.components.schema("Problem", {
        "type": "object", "required": ["type", "title", "status", "detail"],
        "properties": {"type": {"type": "string"}, "title": {"type": "string"},
                       "status": {"type": "integer"}, "detail": {"type": "string"},
                       "errors": {"type": "object"}}})
    spec.components.schema("Receipt", {
        "type": "object",
        "required": ["id", "type", "kind", "record", "tenant", "version", "position",
                     "recorded_at"],
        "properties": {"id": {"type": "string", "format": "uuid"}, "type": {"type": "string"},
                       "kind": {"type": "string"}, "record": {"type": "string"},
                       "tenant": {"type": "string"}, "version": {"type": "integer"},
                       "position": {"type": "integer"}, "recorded_at": TIMESTAMP}})
    spec.components.schema("BatchRequest", {
        "type": "object", "required": ["events"], "additionalProperties": False,
        "properties": {"events": {"type": "array", "minItems": 1, "maxItems": 1000,
                                  "items": _ref("Envelope")}}})
    spec.components.schema("BatchResults", {
        "type": "object", "required": ["results"],
        "properties": {"results": {"type": "array", "items": _ref("Receipt")}}})
    by_index = {"type": "object", "propertyNames": {"pattern": "^[0-9]+$"}}
    spec.components.schema("BatchRefused", {
        "allOf": [PROBLEM, {
            "type": "object", "required": ["refused"],
            "properties": {
                "refused": {"type": "array", "items": {"type": "integer"},
                            "description": "Every refused index, ascending."},
                "errors": {**by_index, "additionalProperties": {
                    "type": "object", "additionalProperties": {
                        "type": "array", "items": {"type": "string"}}},
                    "description": "Index -> field -> messages (422 envelopes)."},
                "conflicts": {**by_index, "additionalProperties": PROBLEM,
                              "description": "Index -> problem (409 envelopes)."},
                "forbidden": {**by_index, "additionalProperties": PROBLEM,
                              "description": "Index -> problem (403 envelopes)."},
                "not_found": {**by_index, "additionalProperties": PROBLEM,
                              "description": "Index -> problem (404 envelopes)."}}}]})
    spec.components.schema("Actor", {
        "type": "object", "required": ["id", "name", "role"],
        "properties": {"id": {"type": "string"}, "name": {"type": "string"},
                       "role": {"type": "string"}}})
    spec.components.schema("StoredEvent", {
        "type": "object",
        "required": ["id", "type", "record", "kind", "tenant", "occurred_on", "data", "version",
                     "position", "recorded_at", "actor"],
        "properties": {"id": {"type": "string"}, "type": {"type": "string"},
                       "record": {"type": "string"}, "kind": {"type": "string"},
                       "tenant": {"type": "string"}, "occurred_on": DATE,
                       "data": {"type": "object"}, "version": {"type": "integer"},
                       "position": {"type": "integer"}, "recorded_at": TIMESTAMP,
                       "actor": _ref("Actor")}})
    spec.components.schema("EventList", {
        "type": "object", "required": ["events", "next"],
        "properties": {"events": {"type": "array", "items": _ref("StoredEvent")},
                       "next": {"type": ["string", "integer", "null"]}}})
    spec.components.schema("RecordState", {
        "type": "object",
        "required": ["kind", "record", "tenant", "status", "voided", "version", "position",
                     "attributes", "as_of"],
        "properties": {"kind": {"type": "string"}, "record": {"type": "string"},
                       "tenant": {"type": "string"}, "status": {"type": "string"},
                       "voided": {"type": "boolean"}, "version": {"type": "integer"},
                       "position": {"type": "integer"}, "created_on": DATE,
                       "last_occurred_on": DATE, "recorded_at": TIMESTAMP,
                       "updated_at": TIMESTAMP, "attributes": {"type": "object"},
                       "international_certificates": {"type": "array",
                                                      "items": {"type": "object"}},
                       "as_of": DATE, "known_at": {"type": ["string", "null"]}}})
    spec.components.schema("Tenant", {
        "type": "object", "required": ["code", "name", "level", "parent"],
        "properties": {"code": {"type": "string"}, "name": {"type": "string"},
                       "name_en": {"type": "string"}, "level": {"type": "string"},
                       "division_type": {"type": "string"},
                       "parent": {"type": ["string", "null"]}}})
    spec.components.schema("PublicRecord", {
        "type": "object", "required": ["kind", "record", "status", "checked_on"],
        "properties": {"kind": {"type": "string"}, "record": {"type": "string"},
                       "status": {"type": "string"}, "holder_name": {"type": ["string", "null"]},
                       "valid_until": {"type": ["string", "null"]},
                       "valid": {"type": "boolean"}, "checked_on": DATE}})


@lru_cache(maxsize=1)
def build_spec() -> dict[str, Any]:
    spec = APISpec(
        title="Quality Brand Registry", version="1.0.0", openapi_version="3.1.0",
        plugins=[MarshmallowPlugin()],
        info={"description": "Lifecycle events of Zhejiang's quality-brand programmes, counts "
                             "and plan progress. Errors are RFC 9457 problem+json."},
    )
    _components(spec)
    _read_components(spec)
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
    document = spec.to_dict()
    document["paths"] = {**_paths(), **_read_paths(), **_ledger_paths()}
    document["security"] = [{"bearer": []}]
    for source, target in EXCEL_TWINS.items():  # every CSV (and the feed) also as Excel
        operation = copy.deepcopy(document["paths"][source]["get"])
        operation["operationId"] += "Xlsx"
        operation["summary"] += " (Excel .xlsx: text cells for codes, dates as dates)"
        operation["responses"]["200"] = {"description": "An Excel workbook", "content": {
            XLSX_MIME: {"schema": {"type": "string", "format": "binary"}}}}
        document["paths"][target] = {"get": operation}
    for operations in document["paths"].values():  # every caller is rate limited
        for operation in operations.values():
            operation["responses"].setdefault("429", TOO_MANY)
    return document


EXCEL_TWINS = {"/v1/records.csv": "/v1/records.xlsx",
               "/v1/tenants/{code}/progress.csv": "/v1/tenants/{code}/progress.xlsx",
               "/v1/tenants/{code}/events.jsonl": "/v1/tenants/{code}/events.xlsx"}
TOO_MANY = {"description": "Too many requests (per principal, or per client address before "
                           "authentication and on public endpoints); retry after Retry-After",
            "headers": {"Retry-After": {"schema": {"type": "integer"}}},
            "content": {"application/problem+json": {"schema": PROBLEM}}}


@docs.get("/openapi.json")
def openapi_json():
    return jsonify(build_spec())


def _payload_fields(cls) -> str:
    """An event type's `data` fields, from its marshmallow schema: required ones in bold."""
    fields = cls.Payload().fields
    names = [f"<b>{html.escape(n)}</b>" if f.required else html.escape(n)
             for n, f in fields.items()]
    return ", ".join(names) or "<i>no fields</i>"


@docs.get("/docs")
def docs_page():
    """A plain HTML rendering of the OpenAPI document (no CDN, no script)."""
    spec = build_spec()
    rows = []
    for path, operations in spec["paths"].items():
        for method, op in operations.items():
            codes = ", ".join(sorted(op.get("responses", {})))
            params = ", ".join(p["name"] for p in op.get("parameters", []))
            rows.append(f"<tr><td><code>{method.upper()}</code></td><td><code>"
                        f"{html.escape(path)}</code></td><td>{html.escape(op.get('summary', ''))}"
                        f"</td><td>{html.escape(params)}</td><td>{codes}</td></tr>")
    types = "".join(f"<li><code>{html.escape(t)}</code>: {_payload_fields(cls)}</li>"
                    for t, cls in EVENT_TYPES.items())
    page = f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Quality Brand Registry API</title>
<style>body{{font-family:system-ui,sans-serif;margin:2rem;max-width:70rem}}
table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:.3rem .6rem;text-align:left}}
</style></head><body><h1>Quality Brand Registry API</h1>
<p>Machine-readable document: <a href="/openapi.json">/openapi.json</a>.
Send <code>Authorization: Bearer &lt;token&gt;</code>. Errors are RFC 9457
<code>application/problem+json</code>.</p>
<table><tr><th>method</th><th>path</th><th>what</th><th>parameters</th><th>responses</th></tr>
{''.join(rows)}</table><h2>Event types and their <code>data</code> fields</h2>
<p>Required fields in bold; the JSON schemas are in the document's components.</p>
<ul>{types}</ul></body></html>"""
    return Response(page, mimetype="text/html")
