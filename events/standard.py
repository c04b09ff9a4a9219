"""Events of 浙江制造 group standards."""

from __future__ import annotations

import datetime as dt

from marshmallow import Schema

from events.base import RecordEvent
from events.fields import Code, IsoDate, Text, holder, reason


class StandardDraftingApproved(RecordEvent):
    """Drafting of a standard was approved, led by an enterprise."""

    TYPE = "standard.drafting_approved"
    KIND = "standard"
    STATUS = "drafting"

    class Payload(Schema):
        title = Text(max_length=300, required=True)
        lead = holder(required=True)

    title: str
    lead: dict


class StandardPublished(RecordEvent):
    """The standard was published (creates the record when it was not drafted here)."""

    TYPE = "standard.published"
    KIND = "standard"
    STATUS = "published"

    class Payload(Schema):
        title = Text(max_length=300, required=True)
        lead = holder()
        effective_on = IsoDate(required=True)

    title: str
    lead: dict | None
    effective_on: dt.date


class StandardRevised(RecordEvent):
    """A published standard was revised under a new code."""

    TYPE = "standard.revised"
    KIND = "standard"
    STATUS = "published"

    class Payload(Schema):
        new_code = Code(required=True)
        effective_on = IsoDate(required=True)

    new_code: str
    effective_on: dt.date


class StandardWithdrawn(RecordEvent):
    """The standard was withdrawn (final)."""

    TYPE = "standard.withdrawn"
    KIND = "standard"
    STATUS = "withdrawn"

    class Payload(Schema):
        reason = reason()

    reason: str
