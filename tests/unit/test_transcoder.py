"""The store reads stored events with orjson (events.transcoder.OrjsonReading), and what it
reads is exactly what the library's JSONTranscoder reads from the same bytes: the same
values of the same types, or the same refusal. It writes with the library's JSONTranscoder
unchanged, so the stored bytes are the library's."""

from __future__ import annotations

import datetime as dt
import json
import math
from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest
from eventsourcing.persistence import JSONTranscoder
from hypothesis import given, settings
from hypothesis import strategies as st

from events.store import EventLog
from events.transcoder import OrjsonReading


def _transcoders() -> tuple[JSONTranscoder, OrjsonReading]:
    ours = EventLog.memory().mapper.transcoder
    library = JSONTranscoder()
    for transcoding in ours.names.values():
        library.register(transcoding)
    return library, ours


LIBRARY, OURS = _transcoders()


def same(a: Any, b: Any) -> bool:
    """Equal values of the same types all the way down (1 != 1.0, date != datetime, and a
    NaN equals a NaN); without recursion, for deeply nested documents."""
    pairs = [(a, b)]
    while pairs:
        x, y = pairs.pop()
        if type(x) is not type(y):
            return False
        if type(x) is dict:
            if list(x) != list(y):
                return False
            pairs.extend((x[k], y[k]) for k in x)
        elif type(x) is list:
            if len(x) != len(y):
                return False
            pairs.extend(zip(x, y))
        elif type(x) is float and math.isnan(x):
            if not math.isnan(y):
                return False
        elif x != y:
            return False
    return True


def outcome(transcoder: JSONTranscoder, data: bytes) -> tuple[str, Any]:
    try:
        return "value", transcoder.decode(data)
    except Exception as exc:  # noqa: BLE001 - the refusal is what is compared
        return "error", type(exc)


def assert_reads_alike(data: bytes) -> None:
    theirs, ours = outcome(LIBRARY, data), outcome(OURS, data)
    assert theirs[0] == ours[0], (data, theirs, ours)
    if theirs[0] == "value":
        assert same(theirs[1], ours[1]), (data, theirs[1], ours[1])
    else:
        assert theirs[1] is ours[1], (data, theirs, ours)


def test_the_store_reads_with_orjson_and_writes_the_librarys_bytes():
    assert type(OURS) is OrjsonReading
    state = {"timestamp": dt.datetime(2024, 5, 6, 7, 8, 9, 10, dt.timezone.utc),
             "id": UUID(int=7), "on": dt.date(2024, 2, 29), "amount": Decimal("1.10"),
             "holder": {"name": "湖州竹业有限公司", "uscc": "91330500000000001X"},
             "standards": ["T/ZZB 0001-2020"], "n": 2 ** 80, "x": 0.5, "none": None}
    data = OURS.encode(state)
    assert data == LIBRARY.encode(state)
    assert same(OURS.decode(data), LIBRARY.decode(data))


# What the library writes: its own encoding of values of every type it transcodes.
scalars = (st.none() | st.booleans() | st.integers() | st.floats()
           | st.text(st.characters(exclude_categories=["Cs"]))
           | st.uuids() | st.decimals(allow_nan=False).map(lambda d: Decimal(str(d)))
           | st.dates() | st.datetimes(timezones=st.just(dt.timezone.utc)))
values = st.recursive(
    scalars, lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=20)


@settings(max_examples=600, deadline=None)
@given(values)
def test_every_value_the_library_writes_reads_back_the_same(value):
    assert_reads_alike(LIBRARY.encode(value))


# What a store could hold that the library would not write: raw JSON text.
EDGES = [
    b"18446744073709551615", b"18446744073709551616", b"-9223372036854775809",
    b"123456789012345678901234567890", b'{"n": 123456789012345678901234567890}',
    b"[1, 2.5, 1e400]", b"NaN", b"-Infinity", b'{"x": NaN}', b"1E5", b"-0", b"-0.0",
    b'"\\ud800"', b'{"k": "\\udfff\\ud800"}', b'"\\ud83d\\ude00"', b'"\\u0000"',
    b'{"a": 1, "b": 2, "a": 3}', b'{"_type_": "uuid_hex"}', b'{"_type_": "nope", "_data_": "x"}',
    b'{"_type_": ["x"], "_data_": "x"}', b'{"_type_": 5, "_data_": "x"}',
    b'{"_type_": "uuid_hex", "_data_": "not hex"}', b'{"_type_": "uuid_hex", "_data_": 5}',
    b'{"_type_": "uuid_hex", "_data_": "0x000000000000000000000000000000"}',
    b'{"_type_": "uuid_hex", "_data_": "-0000000000000000000000000000001"}',
    b'{"_type_": "uuid_hex", "_data_": "0000_000000000000000000000000001"}',
    b'{"_type_": "uuid_hex", "_data_": "{00000000000000000000000000001}"}',
    b'{"_type_": "date_iso", "_data_": {"_type_": "date_iso", "_data_": "2024-01-01"}}',
    b'[{"_type_": "decimal_str", "_data_": "1.5"}, [{"_type_": "date_iso", "_data_": "x"}]]',
    b'{"_data_": "x", "_type_": "date_iso"}', b'{"_type_": "date_iso", "_data_": "2024-01-01", "z": 1}',
    b"\xef\xbb\xbf{}", b"{} x", b"", b"\xff", "\"é\"".encode("latin-1"),
    b"[" * 2000 + b"]" * 2000, b'{"a":' * 600 + b"1" + b"}" * 600,
]


@pytest.mark.parametrize("data", EDGES, ids=range(len(EDGES)))
def test_what_orjson_reads_otherwise_goes_the_json_modules_way(data):
    assert_reads_alike(data)


json_texts = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2 ** 70), max_value=2 ** 70)
    | st.floats() | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
        st.sampled_from(["_type_", "_data_", "a", "b"]) | st.text(max_size=4), inner,
        max_size=3), max_leaves=12)


@settings(max_examples=600, deadline=None)
@given(json_texts, st.sampled_from(["uuid_hex", "date_iso", "decimal_str", "datetime_iso",
                                    "x"]))
def test_any_json_text_reads_alike(value, name):
    """Tags with any data, lone surrogates, big integers, NaN: written as JSON text by the
    json module (which writes what the library's writer refuses), then read both ways."""
    text = json.dumps(value)
    assert_reads_alike(text.encode("utf-8", "surrogatepass"))
    tagged = json.dumps({"_type_": name, "_data_": value})
    assert_reads_alike(tagged.encode("utf-8", "surrogatepass"))
