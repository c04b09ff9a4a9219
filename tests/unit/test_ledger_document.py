"""The ledger document of an event, its canonical JSON and the hash chain."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid

from api.jsonenc import wire_default
from events import CertificationIssued, PrincipalAdded, record_id
from events.ledger_document import (
    GENESIS_HASH,
    canonical_json,
    chain_hash,
    ledger_document,
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
