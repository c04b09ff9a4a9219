"""The compiled wire schemas (events.compiled) load exactly what marshmallow loads.

Documents are generated from the schemas' own fields, valid and not (missing, null, unknown
keys, wrong types, invisible and look-alike characters, out-of-range dates and integers,
values outside each field's choices), for the envelope and every event type's payload."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from marshmallow import Schema, ValidationError, fields, validate

from events import AMENDABLE, EVENT_TYPES
from events.base import schema_of
from events.compiled import compiled, load
from events.envelope import _EnvelopeSchema
from events.fields import Code, CountryCode, IsoDate, StrictInteger, Text, Uscc
from events.text import make_uscc

SCHEMAS = {"envelope": _EnvelopeSchema,
           **{f"{name} data": event.Payload for name, event in sorted(EVENT_TYPES.items())},
           **{f"{kind} changes": schema for kind, schema in sorted(AMENDABLE.items())}}

ANYTHING = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=5),
                     st.lists(st.integers(), max_size=2), st.dictionaries(st.text(max_size=2),
                                                                          st.integers(), max_size=2))
TEXTS = st.one_of(st.sampled_from(["湖州竹地板", " 两个  空格 ", "", " ", "a\u200bb", "x" * 201,
                                   "\ufffd", "tab\there", "line\nbreak", "T/ZZB 2310-2021",
                                   "СХ/2023/0001", "ＡＢ１２", "A\x00B", "\u202eabc"]),
                  st.text(max_size=12))
DATES = st.sampled_from(["2023-05-10", "1990-01-01", "1989-12-31", "2100-12-31", "2101-01-01",
                         "2023-02-30", "20230510", "2023-5-10", " 2023-05-10", 20230510])
INTEGERS = st.one_of(st.integers(-3, 10), st.sampled_from([2**31, 2**31 + 1, True, 1.0, "3"]))
VALID_USCC = make_uscc("91330523000000001")
USCCS = st.sampled_from([VALID_USCC, VALID_USCC.lower(), f" {VALID_USCC} ",
                         VALID_USCC[:17] + "0" if VALID_USCC[17] != "0" else VALID_USCC[:17] + "1",
                         "330523000000001", "９１３３０５２３０００００００１" + VALID_USCC[17], "SHORT"])
UUIDS = st.one_of(st.uuids().map(str), st.sampled_from(["not-a-uuid", "", 5]),
                  st.uuids().map(lambda u: str(u).upper()))


def choices(field: fields.Field) -> list[Any]:
    """Values a field's validators accept or sit on the edge of (OneOf, Regexp, Range)."""
    found: list[Any] = []
    for validator in field.validators:
        if isinstance(validator, validate.OneOf):
            found.extend(validator.choices)
        elif isinstance(validator, validate.Regexp):
            found.extend(["330523", "33052", "3305230"])
        elif isinstance(validator, validate.Range):
            found.extend(v for v in (validator.min, validator.max) if v is not None)
    return found


def value_of(field: fields.Field, depth: int = 0) -> st.SearchStrategy[Any]:
    """Values for one field, mostly of its type, valid and not."""
    if isinstance(field, fields.Nested):
        base = document(type(field.schema), depth + 1)
    elif isinstance(field, fields.List):
        base = st.one_of(st.lists(value_of(field.inner, depth + 1), max_size=3), st.just("T/ZZB"))
    elif isinstance(field, Uscc):
        base = USCCS
    elif isinstance(field, IsoDate):
        base = DATES
    elif isinstance(field, StrictInteger):
        base = INTEGERS
    elif isinstance(field, CountryCode):
        base = st.sampled_from(["CN", "cn", " de ", "XX", "", 86])
    elif isinstance(field, (Text, Code)):
        base = TEXTS
    elif isinstance(field, fields.UUID):
        base = UUIDS
    elif isinstance(field, fields.Dict):
        base = st.one_of(st.just({}), st.just({"product": "竹地板"}), st.just([]), st.just("x"))
    else:
        base = ANYTHING
    options = choices(field)
    strategies = [base, base, ANYTHING] + ([st.sampled_from(options)] * 3 if options else [])
    return st.one_of(*strategies)


@st.composite
def _document(draw: Any, schema_class: type[Schema], depth: int) -> Any:
    schema = schema_of(schema_class)
    body: dict[str, Any] = {}
    for name, field in schema.load_fields.items():
        key = field.data_key or name
        # Required fields are present most of the time, optional ones half of the time.
        if draw(st.integers(0, 9)) < (8 if field.required else 5):
            body[key] = draw(value_of(field, depth))
    if draw(st.integers(0, 9)) == 0:
        body[draw(st.sampled_from(["extra", "Holder", "data ", ""]))] = 1
    if draw(st.integers(0, 19)) == 0:
        return draw(st.sampled_from([[body], "document", None, 1]))
    return body


def document(schema_class: type[Schema], depth: int = 0) -> st.SearchStrategy[Any]:
    return _document(schema_class, depth)


def outcome(loader: Any, data: Any) -> tuple[str, Any]:
    try:
        return "loaded", loader(data)
    except ValidationError as exc:
        return "refused", (exc.messages, exc.valid_data)


@pytest.mark.parametrize("name", list(SCHEMAS))
def test_compiled_loading_agrees_with_marshmallow(name):
    schema = schema_of(SCHEMAS[name])
    fast = compiled(schema)

    @settings(max_examples=150, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(data=document(SCHEMAS[name]))
    def check(data):
        expected = outcome(schema.load, data)
        assert outcome(lambda d: load(schema, d), data) == expected
        if fast is not None and expected[0] == "loaded":
            # A document marshmallow loads never needs the slow path.
            assert fast(data) == expected[1]

    check()


def test_every_wire_schema_but_those_with_hooks_is_compiled():
    not_compiled = sorted(name for name, schema_class in SCHEMAS.items()
                          if compiled(schema_of(schema_class)) is None)
    assert not_compiled == ["record.amended data"]  # its validates_schema hook


def test_a_valid_certification_is_loaded_without_marshmallow(monkeypatch):
    """The fast path is what runs for a valid envelope: marshmallow's load is not called."""
    from events.envelope import parse_envelope

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("marshmallow's load was called")

    raw = {"id": str(uuid.uuid4()), "type": "certification.issued", "record": "CX/1",
           "tenant": "330523", "occurred_on": "2023-05-10",
           "data": {"holder": {"name": "湖州企业有限公司", "uscc": VALID_USCC},
                    "product": "竹地板", "standards": ["T/ZZB 2310-2021"],
                    "valid_until": "2029-05-09"}}
    monkeypatch.setattr(Schema, "load", refuse)
    import datetime as dt
    envelope = parse_envelope(raw, EVENT_TYPES, dt.date(2026, 12, 7))
    assert envelope.data["holder"]["uscc"] == raw["data"]["holder"]["uscc"]
    assert envelope.data["standards"] == ["T/ZZB 2310-2021"]


def test_a_field_that_overrides_deserialize_keeps_the_schema_on_marshmallow():
    """The fast path calls `_deserialize` and the validators; a field whose own
    `deserialize` or `_validate_missing` does more would be skipped by it, so such a
    schema is never compiled (the query parameters' fields are of that sort)."""
    from api.query import QDate

    class Emptyable(Schema):
        day = QDate()

    class Plain(Schema):
        day = IsoDate()

    class Missing(fields.String):
        def _validate_missing(self, value: Any) -> None:
            super()._validate_missing(value)

    class WithMissing(Schema):
        name = Missing()

    class NestedEmptyable(Schema):
        inner = fields.Nested(Emptyable)

    assert compiled(Emptyable()) is None and compiled(NestedEmptyable()) is None
    assert compiled(WithMissing()) is None
    assert compiled(Plain()) is not None
    assert load(Emptyable(), {"day": ""}) == {"day": None}
