"""The ledger document of an event, its canonical JSON and the hash chain."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import uuid
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from api.jsonenc import wire_default
from events import CertificationIssued, PrincipalAdded, record_id
from events.ledger_document import (
    GENESIS_HASH,
    _leaf,
    canonical_json,
    chain_hash,
    ledger_document,
    plain,
)
from events.store import Positioned
from registry.service import event_envelope

RECORDED = dt.datetime(2024, 3, 1, 4, 5, 6, 7, tzinfo=dt.timezone.utc)


def _issued() -> CertificationIssued:
    return CertificationIssued(
        originator_id=record_id("certification", "ZJM-1"), originator_version=1,
        timestamp=RECORDED, envelope_id=uuid.UUID(int=7), kind="certification", key="ZJM-1",
        tenant="330523", occurred_on=dt.date(2024, 2, 29),
        actor={"id": "p1", "name": "浙江认证中心", "role": "certification-body"},
        holder={"name": "湖州竹业有限公司", "uscc": "91330523000000001X"}, product="竹地板",
        standards=["T/ZZB 2310-2021"], valid_until=dt.date(2030, 2, 28))


def test_a_record_events_document_is_its_wire_envelope_as_the_api_writes_it():
    event = _issued()
    wire = json.loads(json.dumps(event_envelope(Positioned(42, event)), default=wire_default))
    assert ledger_document(42, event) == wire
    assert wire["recorded_at"] == "2024-03-01T04:05:06.000007Z"


def test_another_events_document_names_its_type_id_version_time_and_own_fields():
    event = PrincipalAdded(originator_id=uuid.UUID(int=9), originator_version=1,
                           timestamp=RECORDED, principal_id="p1", name="审计员", role="auditor",
                           tenant="330000", kinds=["certification"], token_hash="ab" * 32,
                           actor={"id": "operator", "name": "operator", "role": "operator"})
    assert ledger_document(3, event) == {
        "position": 3, "type": "principal.added", "id": str(uuid.UUID(int=9)), "version": 1,
        "recorded_at": "2024-03-01T04:05:06.000007Z",
        "data": {"principal_id": "p1", "name": "审计员", "role": "auditor", "tenant": "330000",
                 "kinds": ["certification"], "token_hash": "ab" * 32,
                 "actor": {"id": "operator", "name": "operator", "role": "operator"}}}


def test_canonical_json_sorts_keys_drops_spaces_and_keeps_chinese_as_utf8():
    assert canonical_json({"b": 1, "a": ["审", None]}) == '{"a":["审",null],"b":1}'.encode()


def test_an_entry_hash_is_sha256_of_the_previous_hex_hash_then_the_canonical_json():
    document = ledger_document(1, _issued())
    expected = hashlib.sha256(GENESIS_HASH.encode() + canonical_json(document)).hexdigest()
    assert chain_hash(GENESIS_HASH, document) == expected
    assert chain_hash("1" * 64, document) != expected


def test_a_document_read_back_from_an_export_line_hashes_the_same():
    document = ledger_document(5, _issued())
    line = json.loads(json.dumps({**document, "ledger": {}}, ensure_ascii=True, indent=1))
    line.pop("ledger")
    assert chain_hash(GENESIS_HASH, line) == chain_hash(GENESIS_HASH, document)


# `plain` goes through orjson when it gives exactly what the json module gives; the json
# module's round trip stays the definition. Values of every kind a stored event's fields can
# decode to, and the ones where the two encoders differ (NaN and infinities, integers past
# 64 bits, lone surrogates, keys that are not strings, types without a document form).


@dataclasses.dataclass(frozen=True)
class _Holder:  # a dataclass has no document form: both paths refuse it
    uscc: str


def _by_json(value):
    return json.loads(json.dumps(value, default=_leaf, ensure_ascii=False, allow_nan=False))


_leaves = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-2**70, max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True), st.text(), st.text(st.characters(
        min_codepoint=0xD800, max_codepoint=0xDFFF), min_size=1, max_size=2),
    st.dates(), st.datetimes(timezones=st.just(dt.timezone.utc)), st.uuids(),
    st.decimals(allow_nan=False), st.frozensets(st.integers(), max_size=3),
    st.builds(object), st.builds(_Holder, st.text(max_size=3)))
_values = st.recursive(_leaves, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.tuples(inner, inner),
    st.dictionaries(st.text(max_size=5), inner, max_size=4),
    st.dictionaries(st.integers(), inner, min_size=1, max_size=2)), max_leaves=12)


def _outcome(function, value):
    try:
        return "ok", function(value)
    except Exception as exc:  # the same refusal, whichever path gives it
        return "refused", type(exc)


@settings(max_examples=3000, deadline=None)
@given(_values)
def test_plain_is_the_json_modules_round_trip(value):
    ours, reference = _outcome(plain, value), _outcome(_by_json, value)
    if reference[0] == "refused":
        assert ours[0] == "refused"
    else:
        assert ours == reference
        assert json.dumps(ours[1], sort_keys=True) == json.dumps(reference[1], sort_keys=True)


def test_plain_refuses_what_has_no_json_form_as_before():
    for value in ({"x": float("nan")}, [float("inf")], {"x": object()}, "\ud800", 2**64,
                  {1: "a"}, [None], [_Holder("9133")]):
        assert _outcome(plain, value) == _outcome(_by_json, value)
    assert _outcome(plain, {"x": float("nan")})[0] == "refused"
    assert plain({"a": None, "b": Decimal("1.50"), "c": {3, 1}}) == {
        "a": None, "b": "1.50", "c": [1, 3]}
