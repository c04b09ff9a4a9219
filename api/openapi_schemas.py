"""The component schemas of the OpenAPI document: request bodies from the marshmallow
schemas (envelopes per event type from each type's Payload), answers as JSON Schema."""

from __future__ import annotations

from apispec import APISpec

from api.apidoc import PROBLEM, ref as _ref
from api.subscriptions_bp import SubscriptionBody
from events import EVENT_TYPES, KINDS
from events.fields import HolderSchema
from events.openings import RecordOpeningBody
from events.plans import PlanOpeningBody, SetTargetBody

DATE = {"type": "string", "format": "date"}
TIMESTAMP = {"type": "string", "format": "date-time"}


def components(spec: APISpec) -> None:
    """Every component schema the operations refer to."""
    _components(spec)
    _write_components(spec)
    _record_components(spec)
    _read_components(spec)
    _plan_components(spec)
    _ledger_components(spec)
    answer_components(spec)


def _ledger_components(spec: APISpec) -> None:
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
    spec.components.schema("LedgerCheckpoint", checkpoint)


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


def _plan_components(spec: APISpec) -> None:
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


def _write_components(spec: APISpec) -> None:
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


def _record_components(spec: APISpec) -> None:
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




def _list(name: str, items: dict) -> dict:
    return {"type": "object", "required": [name],
            "properties": {name: {"type": "array", "items": items}}}


def answer_components(spec: APISpec) -> None:
    """Small answers named so that routes can refer to them."""
    spec.components.schema("TenantList", _list("tenants", _ref("Tenant")))
    spec.components.schema("TenantDetail", {
        "type": "object", "required": ["tenant", "ancestors", "children"],
        "properties": {"tenant": _ref("Tenant"),
                       "ancestors": {"type": "array", "items": _ref("Tenant")},
                       "children": {"type": "array", "items": _ref("Tenant")}}})
    spec.components.schema("Health", {"type": "object", "required": ["status"],
                                       "properties": {"status": {"type": "string"}}})
    spec.components.schema("SubscriptionBody", schema=SubscriptionBody)
    spec.components.schema("SubscriptionCreated", {"type": "object",
                                                    "required": ["id", "secret"]})
    spec.components.schema("Subscription", {"type": "object", "required": ["id", "state"]})
    spec.components.schema("PublicSearch", {
        "type": "object", "required": ["records"],
        "properties": {"records": {"type": "array", "maxItems": 20,
                                   "items": {"type": "object"}}}})
    spec.components.schema("PlanList", _list("plans", _ref("PlanSummary")))
    spec.components.schema("OpeningStored", {
        "type": "object", "required": ["opening"], "properties": {"opening": _ref("Opening")}})
    spec.components.schema("OpeningList", {
        "type": "object", "required": ["openings"],
        "properties": {"tenant": _ref("Tenant"),
                       "openings": {"type": "array", "items": _ref("Opening")}}})
    spec.components.schema("Stored", {"type": "object"})
