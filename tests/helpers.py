"""Builders of valid envelopes and headers for the tests."""

from __future__ import annotations

import itertools
import uuid
from typing import Any

from events.text import make_uscc

_serial = itertools.count(1)


def uscc(region: str = "330523", n: int | None = None) -> str:
    """A valid unified social credit code registered in `region`."""
    n = next(_serial) if n is None else n
    return make_uscc(f"91{region}{n:09d}")


def holder(name: str = "湖州竹业有限公司", region: str = "330523", n: int | None = None) -> dict:
    return {"name": name, "uscc": uscc(region, n)}


def envelope(type_: str, record: str, occurred_on: str, data: dict | None = None,
             **extra: Any) -> dict:
    body = {"id": str(uuid.uuid4()), "type": type_, "record": record,
            "occurred_on": occurred_on, "data": data or {}}
    body.update(extra)
    return body


def issued(record: str, tenant: str = "330523", occurred_on: str = "2023-05-10",
           valid_until: str = "2029-05-09", holder_: dict | None = None, **extra: Any) -> dict:
    return envelope("certification.issued", record, occurred_on, {
        "holder": holder_ or holder(), "product": "竹地板", "standards": ["T/ZZB 2310-2021"],
        "valid_until": valid_until}, tenant=tenant, **extra)


def auth(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def post(client, token: str, body: Any):
    return client.post("/v1/events", json=body, headers=auth(token))


# A tree of six tenants (the province, two cities, three counties) for the fold's unit tests.
SIX_TENANTS = {"330000": None, "330500": "330000", "330100": "330000", "330523": "330500",
               "330522": "330500", "330106": "330100"}


def six_tenant_lineage(code: str) -> list[str]:
    """A tenant of SIX_TENANTS and its ancestors, the nearest first."""
    found = [code]
    while SIX_TENANTS[found[-1]] is not None:
        found.append(SIX_TENANTS[found[-1]])
    return found
