"""Events of government quality awards."""

from __future__ import annotations

from marshmallow import Schema, validate

from events.base import RecordEvent
from events.fields import StrictInteger, Text, holder, reason

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

    class Payload(Schema):
        reason = reason()

    reason: str
