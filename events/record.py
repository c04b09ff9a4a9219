"""Events that apply to a record of any kind: amendments, transfers and voiding."""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from events.base import RecordEvent
from events.fields import Code, StrictInteger, Text, holder, reason


class CertificationChanges(Schema):
    holder = holder()
    product = Text()
    standards = fields.List(Code(), validate=validate.Length(max=50))


class StandardChanges(Schema):
    title = Text(max_length=300)
    lead = holder()


class AwardChanges(Schema):
    title = Text(max_length=300)
    year = StrictInteger(validate=validate.Range(min=1990, max=2100))
    awardee = holder()


class GiChanges(Schema):
    name = Text()
    applicant = holder()
    registration_no = Code()


# The attributes each kind lets `record.amended` correct. Status, dates, level and
# gi_type are not amendable: they change through lifecycle events (or void and re-enter).
AMENDABLE: dict[str, type[Schema]] = {
    "certification": CertificationChanges,
    "standard": StandardChanges,
    "award": AwardChanges,
    "gi": GiChanges,
}


class RecordAmended(RecordEvent):
    """Attributes of the record were corrected; its state does not change."""

    TYPE = "record.amended"
    KIND = ""

    class Payload(Schema):
        changes = fields.Dict(required=True)
        reason = reason()

        @validates_schema
        def _changes_not_empty(self, data, **kwargs):
            if "changes" in data and not data["changes"]:
                raise ValidationError("Name at least one attribute to change.", "changes")

    changes: dict
    reason: str


class RecordTransferred(RecordEvent):
    """The record moved to another tenant from `occurred_on` (the holder relocated)."""

    TYPE = "record.transferred"
    KIND = ""

    class Payload(Schema):
        to_tenant = Text(max_length=12, required=True,
                         validate=validate.Regexp(r"^\d{6}$", error="Not a tenant code."))

    to_tenant: str


class RecordVoided(RecordEvent):
    """The record was entered in error: it leaves every count, its history stays."""

    TYPE = "record.voided"
    KIND = ""

    class Payload(Schema):
        reason = reason()

    reason: str
