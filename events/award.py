"""Events of government quality awards."""

from __future__ import annotations

from marshmallow import Schema, validate

from events.base import RecordEvent
from events.fields import StrictInteger, Text, holder, reason
from events.kind import NEW, Breakdown, Kind

AWARD_LEVELS = ("national", "provincial", "city", "county")


def _level(**kwargs):
    return Text(max_length=16, validate=validate.OneOf(AWARD_LEVELS), **kwargs)


def _year(**kwargs):
    return StrictInteger(validate=validate.Range(min=1990, max=2100), **kwargs)


class AwardNominated(RecordEvent):
    """An organisation was nominated for a quality award."""

    TYPE = "award.nominated"
    KIND = "award"
    STATUS = "nominated"
    SOURCES = frozenset({NEW})
    LABEL = ("提名", "nominated")

    class Payload(Schema):
        level = _level(required=True)
        title = Text(max_length=300, required=True)
        year = _year(required=True)
        awardee = holder(required=True)

    level: str
    title: str
    year: int
    awardee: dict


class AwardGranted(RecordEvent):
    """A quality award was granted (creates the record when there was no nomination)."""

    TYPE = "award.granted"
    KIND = "award"
    STATUS = "granted"
    SOURCES = frozenset({NEW, "nominated"})
    REQUIRED_WHEN_NEW = ("awardee",)
    LABEL = ("授予", "granted")

    class Payload(Schema):
        level = _level(required=True)
        title = Text(max_length=300, required=True)
        year = _year(required=True)
        awardee = holder()

    level: str
    title: str
    year: int
    awardee: dict | None


class AwardRevoked(RecordEvent):
    """A granted award was revoked (final)."""

    TYPE = "award.revoked"
    KIND = "award"
    STATUS = "revoked"
    SOURCES = frozenset({"granted"})
    LABEL = ("撤销奖项", "revoked")

    class Payload(Schema):
        reason = reason()

    reason: str


class Changes(Schema):
    """What `record.amended` may correct on an award (not its level: void and re-enter)."""

    title = Text(max_length=300)
    year = _year()
    awardee = holder()


KIND = Kind(
    name="award",
    label=("政府质量奖", "Quality award"),
    states={"nominated": ("提名", "nominated"), "granted": ("已授予", "granted"),
            "revoked": ("已撤销", "revoked")},
    events=(AwardNominated, AwardGranted, AwardRevoked),
    holder_field="awardee",
    label_field="title",
    changes=Changes,
    breakdowns=(Breakdown("granted_by_level", "granted", "level", AWARD_LEVELS),),
    writer_roles=frozenset(),  # granted by governments: admins only
    level_attribute="level",
)
