"""Events of geographic indications."""

from __future__ import annotations

from marshmallow import Schema, validate

from events.base import RecordEvent
from events.fields import Code, Text, holder, reason

GI_TYPES = ("protected_product", "trademark", "agricultural_product")


def _gi_type(**kwargs):
    return Text(max_length=32, validate=validate.OneOf(GI_TYPES), **kwargs)


class GiApplied(RecordEvent):
    """A geographic indication was applied for."""

    TYPE = "gi.applied"
    KIND = "gi"
    STATUS = "applied"

    class Payload(Schema):
        gi_type = _gi_type(required=True)
        name = Text(required=True)
        applicant = holder(required=True)

    gi_type: str
    name: str
    applicant: dict


class GiRegistered(RecordEvent):
    """A geographic indication was registered (creates the record when not applied here)."""

    TYPE = "gi.registered"
    KIND = "gi"
    STATUS = "registered"

    class Payload(Schema):
        registration_no = Code(required=True)
        gi_type = _gi_type()
        name = Text()
        applicant = holder()

    registration_no: str
    gi_type: str | None
    name: str | None
    applicant: dict | None


class GiRejected(RecordEvent):
    """The application was rejected (final)."""

    TYPE = "gi.rejected"
    KIND = "gi"
    STATUS = "rejected"

    class Payload(Schema):
        reason = reason()

    reason: str


class GiCancelled(RecordEvent):
    """A registered geographic indication was cancelled (final)."""

    TYPE = "gi.cancelled"
    KIND = "gi"
    STATUS = "cancelled"

    class Payload(Schema):
        reason = reason()

    reason: str
