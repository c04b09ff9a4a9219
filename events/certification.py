"""Events of 品字标浙江制造 certifications."""

from __future__ import annotations

import datetime as dt

from marshmallow import Schema, fields, validate

from events.base import RecordEvent
from events.fields import Code, CountryCode, IsoDate, Text, holder, reason


# States in which a certificate lapses on its own once valid_until has passed.
LAPSING_STATES = ("valid", "suspended")


def status_on(kind: str, status: str, valid_until: dt.date | None, day: dt.date) -> str:
    """A record's state on a business date: a certificate in a lapsing state is `expired`
    on every day after its valid_until, with or without a certification.expired event
    (DESIGN.md 2.1). The one definition: records, searches and the projector's timelines
    (which compare date ordinals, `valid_until + 1`) all follow it."""
    if (kind == "certification" and status in LAPSING_STATES and valid_until is not None
            and day > valid_until):
        return "expired"
    return status


class CertificationIssued(RecordEvent):
    """A certification body issued a certificate to an enterprise for a product."""

    TYPE = "certification.issued"
    KIND = "certification"
    STATUS = "valid"

    class Payload(Schema):
        holder = holder(required=True)
        product = Text(required=True)
        standards = fields.List(Code(), required=True,
                                validate=validate.Length(max=50))
        valid_until = IsoDate(required=True)

    holder: dict
    product: str
    standards: list
    valid_until: dt.date


class CertificationRenewed(RecordEvent):
    """The certificate's validity was extended."""

    TYPE = "certification.renewed"
    KIND = "certification"

    class Payload(Schema):
        valid_until = IsoDate(required=True)

    valid_until: dt.date


class CertificationSuspended(RecordEvent):
    """The certificate was suspended."""

    TYPE = "certification.suspended"
    KIND = "certification"
    STATUS = "suspended"

    class Payload(Schema):
        reason = reason()

    reason: str


class CertificationReinstated(RecordEvent):
    """A suspended certificate became valid again."""

    TYPE = "certification.reinstated"
    KIND = "certification"
    STATUS = "valid"

    class Payload(Schema):
        pass


class CertificationWithdrawn(RecordEvent):
    """The certificate was withdrawn (final)."""

    TYPE = "certification.withdrawn"
    KIND = "certification"
    STATUS = "withdrawn"

    class Payload(Schema):
        reason = reason()

    reason: str


class CertificationExpired(RecordEvent):
    """The certificate expired (final); it also expires implicitly after valid_until."""

    TYPE = "certification.expired"
    KIND = "certification"
    STATUS = "expired"

    class Payload(Schema):
        pass


class InternationalCertificateIssued(RecordEvent):
    """A partner body issued an international certificate under the certification."""

    TYPE = "certification.international_issued"
    KIND = "certification"

    class Payload(Schema):
        certificate_no = Code(required=True)
        partner = Text(required=True)
        country = CountryCode(required=True)

    certificate_no: str
    partner: str
    country: str


class InternationalCertificateWithdrawn(RecordEvent):
    """An international certificate issued under the certification was withdrawn."""

    TYPE = "certification.international_withdrawn"
    KIND = "certification"

    class Payload(Schema):
        certificate_no = Code(required=True)

    certificate_no: str
