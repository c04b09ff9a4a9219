"""Events of geographic indications."""

from __future__ import annotations

from marshmallow import Schema, validate

from events.base import RecordEvent
from events.fields import Code, Text, holder, reason
from events.kind import NEW, Breakdown, Kind

GI_TYPES = ("protected_product", "trademark", "agricultural_product")


def _gi_type(**kwargs):
    return Text(max_length=32, validate=validate.OneOf(GI_TYPES), **kwargs)


class GiApplied(RecordEvent):
    """A geographic indication was applied for."""

    TYPE = "gi.applied"
    KIND = "gi"
    STATUS = "applied"
    SOURCES = frozenset({NEW})
    LABEL = ("提出申请", "applied")

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
    SOURCES = frozenset({NEW, "applied"})
    REQUIRED_WHEN_NEW = ("gi_type", "name", "applicant")
    LABEL = ("核准登记", "registered")

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
    SOURCES = frozenset({"applied"})
    LABEL = ("驳回申请", "rejected")

    class Payload(Schema):
        reason = reason()

    reason: str


class GiCancelled(RecordEvent):
    """A registered geographic indication was cancelled (final)."""

    TYPE = "gi.cancelled"
    KIND = "gi"
    STATUS = "cancelled"
    SOURCES = frozenset({"registered"})
    LABEL = ("注销", "cancelled")

    class Payload(Schema):
        reason = reason()

    reason: str


class Changes(Schema):
    """What `record.amended` may correct on a geographic indication (not its type)."""

    name = Text()
    applicant = holder()
    registration_no = Code()


KIND = Kind(
    name="gi",
    label=("地理标志", "Geographic indication"),
    states={"applied": ("已申请", "applied"), "registered": ("已登记", "registered"),
            "rejected": ("已驳回", "rejected"), "cancelled": ("已注销", "cancelled")},
    events=(GiApplied, GiRegistered, GiRejected, GiCancelled),
    holder_field="applicant",
    label_field="name",
    changes=Changes,
    breakdowns=(Breakdown("registered_by_type", "registered", "gi_type", GI_TYPES),),
    writer_roles=frozenset({"certification-body"}),
)
