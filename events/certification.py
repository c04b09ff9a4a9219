"""Events of 品字标浙江制造 certifications."""

from __future__ import annotations

import datetime as dt
from typing import Any

from marshmallow import Schema, fields, validate

from events.base import RecordEvent
from events.fields import Code, CountryCode, IsoDate, Text, holder, reason
from events.kind import NEW, Items, Kind, Lapse, RuleBroken

VALID_OR_SUSPENDED = frozenset({"valid", "suspended"})


class CertificationIssued(RecordEvent):
    """A certification body issued a certificate to an enterprise for a product."""

    TYPE = "certification.issued"
    KIND = "certification"
    STATUS = "valid"
    SOURCES = frozenset({NEW})
    LABEL = ("颁发证书", "certificate issued")

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

    @classmethod
    def check_payload(cls, data: dict[str, Any], occurred_on: dt.date | None,
                      kind: str | None) -> dict[str, list[str]]:
        valid_until = data.get("valid_until")
        if valid_until and occurred_on and valid_until <= occurred_on:
            return {"data.valid_until": ["Must be later than occurred_on."]}
        return {}


class CertificationRenewed(RecordEvent):
    """The certificate's validity was extended."""

    TYPE = "certification.renewed"
    KIND = "certification"
    SOURCES = VALID_OR_SUSPENDED
    LABEL = ("换证续期", "renewed")

    class Payload(Schema):
        valid_until = IsoDate(required=True)

    valid_until: dt.date

    @classmethod
    def check(cls, record: Any, data: dict[str, Any], occurred_on: dt.date) -> None:
        current = record.attributes["valid_until"]
        if data["valid_until"] <= current:
            raise RuleBroken(f"Must be later than the current valid_until {current.isoformat()}.",
                             "data.valid_until")
        if data["valid_until"] <= occurred_on:
            raise RuleBroken("Must be later than occurred_on.", "data.valid_until")


class CertificationSuspended(RecordEvent):
    """The certificate was suspended."""

    TYPE = "certification.suspended"
    KIND = "certification"
    STATUS = "suspended"
    SOURCES = frozenset({"valid"})
    LABEL = ("暂停证书", "suspended")

    class Payload(Schema):
        reason = reason()

    reason: str


class CertificationReinstated(RecordEvent):
    """A suspended certificate became valid again."""

    TYPE = "certification.reinstated"
    KIND = "certification"
    STATUS = "valid"
    SOURCES = frozenset({"suspended"})
    LABEL = ("恢复证书", "reinstated")

    class Payload(Schema):
        pass


class CertificationWithdrawn(RecordEvent):
    """The certificate was withdrawn (final)."""

    TYPE = "certification.withdrawn"
    KIND = "certification"
    STATUS = "withdrawn"
    SOURCES = VALID_OR_SUSPENDED
    LABEL = ("撤销证书", "withdrawn")

    class Payload(Schema):
        reason = reason()

    reason: str


class CertificationExpired(RecordEvent):
    """The certificate expired (final); it also expires implicitly after valid_until."""

    TYPE = "certification.expired"
    KIND = "certification"
    STATUS = "expired"
    SOURCES = VALID_OR_SUSPENDED
    LABEL = ("证书到期", "expired")

    class Payload(Schema):
        pass


class InternationalCertificateIssued(RecordEvent):
    """A partner body issued an international certificate under the certification."""

    TYPE = "certification.international_issued"
    KIND = "certification"
    SOURCES = frozenset({"valid"})
    LABEL = ("颁发国际认证证书", "international certificate issued")

    class Payload(Schema):
        certificate_no = Code(required=True)
        partner = Text(required=True)
        country = CountryCode(required=True)

    certificate_no: str
    partner: str
    country: str

    ATTRIBUTES = ()

    @classmethod
    def check(cls, record: Any, data: dict[str, Any], occurred_on: dt.date) -> None:
        if data["certificate_no"] in record.items:
            raise RuleBroken(f"International certificate {data['certificate_no']} was already "
                             "issued under this certification.",
                             certificate_no=data["certificate_no"])

    def apply(self, record: Any) -> None:
        record.items[self.certificate_no] = {
            "certificate_no": self.certificate_no, "partner": self.partner,
            "country": self.country, "issued_on": self.occurred_on, "withdrawn_on": None}


class InternationalCertificateWithdrawn(RecordEvent):
    """An international certificate issued under the certification was withdrawn."""

    TYPE = "certification.international_withdrawn"
    KIND = "certification"
    SOURCES = VALID_OR_SUSPENDED
    LABEL = ("撤销国际认证证书", "international certificate withdrawn")

    class Payload(Schema):
        certificate_no = Code(required=True)

    certificate_no: str

    ATTRIBUTES = ()

    @classmethod
    def check(cls, record: Any, data: dict[str, Any], occurred_on: dt.date) -> None:
        item = record.items.get(data["certificate_no"])
        if item is None:
            raise RuleBroken("No international certificate with this number was issued under "
                             "this certification.", "data.certificate_no")
        if item["withdrawn_on"] is not None:
            raise RuleBroken(f"International certificate {data['certificate_no']} is already "
                             "withdrawn.", certificate_no=data["certificate_no"],
                             state="withdrawn")

    def apply(self, record: Any) -> None:
        record.items[self.certificate_no]["withdrawn_on"] = self.occurred_on


class Changes(Schema):
    """What `record.amended` may correct on a certification."""

    holder = holder()
    product = Text()
    standards = fields.List(Code(), validate=validate.Length(max=50))


KIND = Kind(
    name="certification",
    label=("品字标认证", "Certification"),
    states={"valid": ("有效", "valid"), "suspended": ("暂停", "suspended"),
            "withdrawn": ("撤销", "withdrawn"), "expired": ("过期", "expired")},
    events=(CertificationIssued, CertificationRenewed, CertificationSuspended,
            CertificationReinstated, CertificationWithdrawn, CertificationExpired,
            InternationalCertificateIssued, InternationalCertificateWithdrawn),
    holder_field="holder",
    label_field="product",
    changes=Changes,
    holders_in="valid",
    lapse=Lapse(states=VALID_OR_SUSPENDED, to="expired"),
    items=Items(kind="international_certificate", held_while=VALID_OR_SUSPENDED),
    writer_roles=frozenset({"certification-body"}),
    admin_writes=False,
)
