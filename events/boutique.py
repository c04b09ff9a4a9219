"""Events of 浙江制造精品: products on the provincial 浙江制造精品 list.

The province publishes the list by year and batch; admins of the province, or of the tenant
the listed product belongs to, record it here. A delisting is final.
"""

from __future__ import annotations

from marshmallow import Schema, validate

from events.base import RecordEvent
from events.fields import StrictInteger, Text, holder, reason
from events.kind import NEW, Kind


def _list_year(**kwargs):
    return StrictInteger(validate=validate.Range(min=1990, max=2100), **kwargs)


class BoutiqueListed(RecordEvent):
    """A product was put on the 浙江制造精品 list."""

    TYPE = "boutique.listed"
    KIND = "boutique"
    STATUS = "listed"
    SOURCES = frozenset({NEW})
    LABEL = ("入选精品名单", "listed")

    class Payload(Schema):
        holder = holder(required=True)
        product = Text(required=True)
        list_year = _list_year(required=True, metadata={"zh": "入选年度"})
        # The list's batch or document number (e.g. 浙经信技术〔2023〕95号).
        list_batch = Text(max_length=100, required=True, metadata={"zh": "入选批次/文号"})

    holder: dict
    product: str
    list_year: int
    list_batch: str


class BoutiqueDelisted(RecordEvent):
    """The product was taken off the list (final)."""

    TYPE = "boutique.delisted"
    KIND = "boutique"
    STATUS = "delisted"
    SOURCES = frozenset({"listed"})
    LABEL = ("移出精品名单", "delisted")

    class Payload(Schema):
        reason = reason()

    reason: str


class Changes(Schema):
    """What `record.amended` may correct on a listed product."""

    holder = holder()
    product = Text()
    list_year = _list_year()
    list_batch = Text(max_length=100)


KIND = Kind(
    name="boutique",
    label=("浙江制造精品", "Zhejiang Made boutique product"),
    states={"listed": ("入选", "listed"), "delisted": ("已移出", "delisted")},
    events=(BoutiqueListed, BoutiqueDelisted),
    holder_field="holder",
    label_field="product",
    changes=Changes,
    writer_roles=frozenset(),  # listed by governments: admins only
    province_or_own_tenant=True,
)
