"""Events that apply to a record of any kind: amendments, transfers and voiding."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from events.base import RecordEvent
from events.fields import Code, reason
from events.kind import ANY

# Allowed in every state of a record that is not voided (what each kind's `record.amended`
# may change is its Kind.changes).
EVERY_STATE = frozenset({ANY})


class RecordAmended(RecordEvent):
    """Attributes of the record were corrected; its state does not change."""

    TYPE = "record.amended"
    KIND = ""
    SOURCES = EVERY_STATE
    LABEL = ("更正信息", "amended")

    class Payload(Schema):
        changes = fields.Dict(required=True)
        reason = reason()

        @validates_schema
        def _changes_not_empty(self, data, **kwargs):
            if "changes" in data and not data["changes"]:
                raise ValidationError("Name at least one attribute to change.", "changes")

    changes: dict
    reason: str

    @classmethod
    def check_payload(cls, data: dict[str, Any], occurred_on: Any,
                      kind: str | None) -> dict[str, list[str]]:
        """The changes, loaded with what the record's kind lets an amendment correct."""
        from events.base import schema_of
        from events.catalogue import AMENDABLE
        from events.compiled import load
        from events.envelope import flatten_errors

        changes = data.get("changes")
        if not isinstance(changes, Mapping) or kind not in AMENDABLE:
            return {}
        try:
            data["changes"] = load(schema_of(AMENDABLE[kind]), changes)
        except ValidationError as exc:
            return flatten_errors(exc.messages, "data.changes")
        return {}

    def apply(self, record: Any) -> None:
        record.attributes.update(self.changes)


class RecordTransferred(RecordEvent):
    """The record moved to another tenant from `occurred_on` (the holder relocated)."""

    TYPE = "record.transferred"
    KIND = ""
    SOURCES = EVERY_STATE
    LABEL = ("迁移属地", "transferred")

    class Payload(Schema):
        to_tenant = Code(max_length=12, required=True,
                         validate=validate.Regexp(r"^\d{6}$", error="Not a tenant code."))

    to_tenant: str

    def apply(self, record: Any) -> None:
        record.tenant = self.to_tenant


class RecordVoided(RecordEvent):
    """The record was entered in error: it leaves every count, its history stays."""

    TYPE = "record.voided"
    KIND = ""
    SOURCES = EVERY_STATE
    LABEL = ("作废（录入错误）", "voided (entered in error)")

    class Payload(Schema):
        reason = reason()

    reason: str

    def apply(self, record: Any) -> None:
        record.voided = True
        record.attributes["voided_on"] = self.occurred_on
        record.attributes["reason"] = self.reason
