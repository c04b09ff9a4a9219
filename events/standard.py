"""Events of 浙江制造 group standards."""

from __future__ import annotations

import datetime as dt
from typing import Any

from marshmallow import Schema

from events.base import RecordEvent
from events.fields import Code, IsoDate, Text, holder, reason
from events.kind import NEW, Kind, RuleBroken


class StandardDraftingApproved(RecordEvent):
    """Drafting of a standard was approved, led by an enterprise."""

    TYPE = "standard.drafting_approved"
    KIND = "standard"
    STATUS = "drafting"
    SOURCES = frozenset({NEW})
    LABEL = ("标准立项", "drafting approved")

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
    SOURCES = frozenset({NEW, "drafting"})
    REQUIRED_WHEN_NEW = ("lead",)
    LABEL = ("标准发布", "published")

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
    SOURCES = frozenset({"published"})
    ATTRIBUTES = ("effective_on",)
    LABEL = ("标准修订", "revised")

    class Payload(Schema):
        new_code = Code(required=True)
        effective_on = IsoDate(required=True)

    new_code: str
    effective_on: dt.date

    @classmethod
    def check(cls, record: Any, data: dict[str, Any], occurred_on: dt.date) -> None:
        if data["new_code"] == record.attributes.get("code", record.key):
            raise RuleBroken("Must differ from the current code.", "data.new_code")

    def apply(self, record: Any) -> None:
        super().apply(record)
        record.attributes["code"] = self.new_code


class StandardWithdrawn(RecordEvent):
    """The standard was withdrawn (final)."""

    TYPE = "standard.withdrawn"
    KIND = "standard"
    STATUS = "withdrawn"
    SOURCES = frozenset({"drafting", "published"})
    LABEL = ("标准废止", "withdrawn")

    class Payload(Schema):
        reason = reason()

    reason: str


class Changes(Schema):
    """What `record.amended` may correct on a standard."""

    title = Text(max_length=300)
    lead = holder()


KIND = Kind(
    name="standard",
    label=("浙江制造标准", "Standard"),
    states={"drafting": ("立项起草", "drafting"), "published": ("已发布", "published"),
            "withdrawn": ("撤销", "withdrawn")},
    events=(StandardDraftingApproved, StandardPublished, StandardRevised, StandardWithdrawn),
    holder_field="lead",
    label_field="title",
    changes=Changes,
    writer_roles=frozenset({"certification-body", "standards-body"}),
)
