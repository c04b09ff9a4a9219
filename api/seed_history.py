"""The synthetic history of `registry plans verify-seed`: records of any kind made from their
own creating event type's payload schema, posted through the batch use case."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any
from uuid import uuid5

from marshmallow import fields

from events import EVENT_TYPES, KIND_SPECS, NAMESPACE
from events.envelope import parse_envelope
from events.fields import Code
from events.text import make_uscc
from tenants.scope import Scope

# Dates in a synthetic record's data (valid_until, effective_on): after every plan's end.
FAR_DATE = "2099-12-31"


class Poster:
    """Posts the designed records through the batch use case, as a scratch operator."""

    def __init__(self, svc, scope: Scope) -> None:
        self.svc = svc
        self.scope = scope
        self.batch: list = []
        self.serial = 0
        self.certificates: dict[str, list[tuple[str, dt.date]]] = defaultdict(list)

    def post(self, body: dict[str, Any]) -> None:
        self.serial += 1
        body["id"] = str(uuid5(NAMESPACE, f"verify-seed/{self.serial}"))
        self.batch.append(parse_envelope(body, EVENT_TYPES, dt.date.today()))
        if len(self.batch) == 500:
            self.flush()

    def flush(self) -> None:
        if self.batch:
            self.svc.registry.record_batch(self.scope, self.batch)
            self.batch = []

    def holder(self, county: str) -> dict[str, str]:
        return {"name": f"核验企业{self.serial}", "uscc": make_uscc(f"91{county}{self.serial:09d}")}

    def records(self, county: str, measure: str, spec: dict[str, Any], year: int,
                count: int) -> None:
        kind = spec["kind"]
        where = {k: v[0] for k, v in (spec.get("where") or {}).items()}
        for n in range(count):  # spread over the year, in date order
            day = dt.date(year, 1, 1) + dt.timedelta(days=n * 364 // max(count, 1))
            key = f"VS-{measure[:12]}-{county}-{year}-{n:05d}"
            if kind in KIND_SPECS:
                self.post(created(kind, spec, key, county, day, self.holder(county), where))
                if KIND_SPECS[kind].items:
                    self.certificates[county].append((key, day))
                continue
            # items issued under a record (international certificates), the earliest one
            cert, issued = min(self.certificates[county], key=lambda c: c[1])
            self.post({"type": "certification.international_issued", "record": cert,
                       "occurred_on": max(day, issued).isoformat(), "data": {
                           "certificate_no": key, "partner": "IQNet", "country": "DE"}})


def created(kind: str, spec: dict[str, Any], key: str, county: str, day: dt.date,
            holder: dict[str, str], where: dict[str, str]) -> dict[str, Any]:
    """An envelope creating a record the measure counts: the kind's creating type that
    reaches a counted state, with its data made from the type's own payload schema."""
    reached = set(spec.get("reached") or spec.get("statuses") or ())
    cls = next(c for c in KIND_SPECS[kind].events if c.creates() and c.STATUS in reached)
    data: dict[str, Any] = {}
    for name, declared in cls.Payload().fields.items():
        if name in where:
            data[name] = where[name]
        elif declared.required or name in cls.REQUIRED_WHEN_NEW:
            data[name] = _synthetic(declared, name, key, day, holder)
    return {"type": cls.TYPE, "record": key, "tenant": county,
            "occurred_on": day.isoformat(), "data": data}


def _synthetic(field: fields.Field, name: str, key: str, day: dt.date,
               holder: dict[str, str]) -> Any:
    choices = getattr(field.validate, "choices", None)
    if choices:
        return next(iter(choices))
    for cls, value in ((fields.Nested, holder), (fields.List, []), (fields.Integer, day.year),
                       (fields.Date, FAR_DATE), (Code, f"{name}-{key}")):
        if isinstance(field, cls):
            return value
    return f"核验{name}"
