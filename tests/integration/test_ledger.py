"""The tamper-evident ledger on SQLite and PostgreSQL: sealing exactly once, signed
checkpoints, and what `verify` finds after direct tampering with the database."""

from __future__ import annotations

import dataclasses
import json
import logging

import pytest
from sqlalchemy import func, select

from events import RecordEvent
from events.ledger_document import GENESIS_HASH, chain_hash, ledger_document
from projections.ledger import (
    ENTRY_COLUMNS,
    all_checkpoints,
    iter_entries,
    latest_checkpoint,
    ledger_fields,
)
from projections.ledger_signing import verify_signature
from projections.ledger_tables import entries
from projections.ledger_export import export_lines, verify_export
from projections.ledger_verify import verify_store
from projections.projector import ConcurrentProjector
from tests.ledger_helpers import (
    alter_payload,
    delete_event,
    execute,
    make_sealer,
    overwrite_state,
    positions_of,
    stored_state,
    write_history,
)


@pytest.fixture
def sealed(services, tmp_path):
    """A history (tenants, receipts, record events) sealed with checkpoints every 25."""
    write_history(services)
    sealer = make_sealer(services, tmp_path / "signing.key", checkpoint_every=25)
    sealer.catch_up()
    return sealer


def _entry_count(services) -> int:
    with services.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(entries)).scalar()


def test_an_untouched_store_verifies_clean_with_every_event_sealed(services, sealed):
    stored = [p.position for p in services.log.read_all()]
    assert [e.position for e in iter_entries(services.engine)] == stored
    report = verify_store(services.log, services.engine, sealed.signer.public_key)
    assert report.ok, report.as_json()
    assert report.entries == len(stored)
    assert report.authenticated_up_to == stored[-1]
    assert report.checkpoints == len(all_checkpoints(services.engine)) >= 2


def test_altering_one_stored_events_payload_makes_verify_name_that_position(services, sealed):
    position = positions_of(services, "certification.issued")[1]
    alter_payload(services, position,
                  lambda state: state["holder"].update(name="冒名顶替有限公司"))
    report = verify_store(services.log, services.engine, sealed.signer.public_key)
    assert not report.ok
    assert report.first_break.position == position
    assert [b.position for b in report.breaks] == [position]
    assert "altered" in report.first_break.problem


def test_an_altered_receipt_is_found_too(services, sealed):
    position = positions_of(services, "envelope.accepted")[0]
    alter_payload(services, position, lambda state: state.update(version=7))
    report = verify_store(services.log, services.engine, sealed.signer.public_key)
    assert report.first_break.position == position


def test_deleting_an_event_row_is_reported_as_the_missing_position(services, sealed):
    position = positions_of(services, "certification.suspended")[0]
    delete_event(services, position)
    report = verify_store(services.log, services.engine, sealed.signer.public_key)
    assert report.first_break.position == position
    assert "missing" in report.first_break.problem


def test_a_sealed_event_that_no_longer_decodes_is_a_break_not_a_crash(services, sealed):
    position = positions_of(services, "certification.issued")[0]
    overwrite_state(services, position, b"\xff not json")
    report = verify_store(services.log, services.engine, sealed.signer.public_key)
    assert report.first_break.position == position
    assert "no longer decodes" in report.first_break.problem


def test_rewriting_the_ledger_to_match_an_altered_event_is_caught_by_the_signed_checkpoint(
        services, sealed):
    position = positions_of(services, "certification.issued")[0]
    alter_payload(services, position, lambda state: state.update(product="假冒产品"))
    # The attacker recomputes every entry from the altered event on, and the head.
    prev = None
    for entry in iter_entries(services.engine, after=position - 1):
        prev = entry.prev_hash if prev is None else prev
        event = next(p.event for p in services.log.read(entry.position - 1, 1))
        new_hash = chain_hash(prev, ledger_document(entry.position, event))
        execute(services, "UPDATE ledger_entries SET prev_hash = :prev, hash = :hash "
                          "WHERE position = :p", prev=prev, hash=new_hash, p=entry.position)
        prev = new_hash
    execute(services, "UPDATE ledger_tracking SET head_hash = :h", h=prev)

    report = verify_store(services.log, services.engine, sealed.signer.public_key)
    assert not report.ok
    first = report.first_break
    assert "checkpoint" in first.problem
    assert first.since <= position <= first.position


def test_a_checkpoint_whose_hash_was_changed_fails_its_signature(services, sealed):
    checkpoint = all_checkpoints(services.engine)[0]
    execute(services, "UPDATE ledger_checkpoints SET hash = :h WHERE position = :p",
            h="0" * 64, p=checkpoint["position"])
    report = verify_store(services.log, services.engine, sealed.signer.public_key)
    assert report.first_break.position == checkpoint["position"]
    assert "signature" in report.first_break.problem


def test_truncating_the_log_and_ledger_is_caught_by_a_checkpoint_a_regulator_kept(
        services, sealed):
    kept = latest_checkpoint(services.engine)
    cut = positions_of(services, "certification.issued")[-1]
    # The attacker removes everything from `cut` on: events, entries, checkpoints, head.
    for position in range(cut, services.log.max_position() + 1):
        delete_event(services, position)
    execute(services, "DELETE FROM ledger_entries WHERE position >= :p", p=cut)
    execute(services, "DELETE FROM ledger_checkpoints WHERE position >= :p", p=cut)
    previous = max(e.position for e in iter_entries(services.engine))
    head_hash = next(e.hash for e in iter_entries(services.engine, after=previous - 1))
    execute(services, "UPDATE ledger_tracking SET position = :p, head_hash = :h",
            p=previous, h=head_hash)
    key = sealed.signer.public_key

    assert verify_store(services.log, services.engine, key).breaks == []
    report = verify_store(services.log, services.engine, key, [kept])
    assert report.first_break.position == kept["position"]
    assert "truncated" in report.first_break.problem


def test_checkpoints_are_signed_every_n_entries_and_at_the_head_when_the_interval_has_passed(
        services, tmp_path):
    write_history(services)
    sealer = make_sealer(services, tmp_path / "k", checkpoint_every=40, checkpoint_seconds=3600)
    sealer.catch_up()
    sealed_positions = [e.position for e in iter_entries(services.engine)]
    checkpoints = all_checkpoints(services.engine)
    assert [c["position"] for c in checkpoints] == [sealed_positions[39], sealed_positions[79]]
    assert all(verify_signature(sealer.signer.public_key, c) for c in checkpoints)
    sealer.process_page()
    assert len(all_checkpoints(services.engine)) == 2  # the interval has not passed
    sealer.checkpoint_seconds = 0
    sealer.process_page()
    assert all_checkpoints(services.engine)[-1]["position"] == sealed_positions[-1]


def test_the_sealer_resumes_after_a_restart_without_sealing_anything_twice(services, tmp_path):
    first = make_sealer(services, tmp_path / "k", checkpoint_every=30)
    assert first.process_page(limit=40) == 40
    before = {e.position: e.hash for e in iter_entries(services.engine)}
    write_history(services)

    restarted = make_sealer(services, tmp_path / "k", checkpoint_every=30)
    sealed_now = restarted.catch_up(limit=25)
    stored = [p.position for p in services.log.read_all()]
    assert sealed_now == len(stored) - 40
    assert _entry_count(services) == len(stored)
    after = {e.position: e.hash for e in iter_entries(services.engine)}
    assert {p: after[p] for p in before} == before
    assert restarted.head().entries == len(stored)
    assert verify_store(services.log, services.engine, restarted.signer.public_key).ok


def test_a_second_sealer_that_read_the_same_head_cannot_seal_the_page_again(services, tmp_path):
    one = make_sealer(services, tmp_path / "k")
    other = make_sealer(services, tmp_path / "k")
    stale = other.head()
    one.catch_up()
    other.head = lambda: stale  # it read the head before `one` committed
    with pytest.raises(ConcurrentProjector):
        other.process_page()
    assert _entry_count(services) == services.log.max_position()


def test_an_event_that_does_not_decode_halts_sealing_at_its_position_until_repaired(
        services, tmp_path, caplog):
    sealer = make_sealer(services, tmp_path / "k")
    sealer.catch_up()
    write_history(services, records=2)
    bad = positions_of(services, "certification.issued")[0]
    original = stored_state(services, bad)
    overwrite_state(services, bad, b'{"not": "an event"}')

    with caplog.at_level(logging.ERROR, logger="registry.ledger"):
        sealer.catch_up()
        assert sealer.process_page() == 0
    head = sealer.head()
    assert head.position == bad - 1 and head.halted_position == bad
    assert "does not decode" in head.halted_reason
    assert f"halted at position {bad}" in caplog.text
    assert max(e.position for e in iter_entries(services.engine)) == bad - 1

    overwrite_state(services, bad, original)
    sealer.catch_up()
    head = sealer.head()
    assert head.position == services.log.max_position() and head.halted_position is None
    assert verify_store(services.log, services.engine, sealer.signer.public_key).ok


def test_a_complete_export_verifies_offline_and_an_edited_or_missing_line_is_named(
        services, sealed):
    lines = [json.dumps(line, ensure_ascii=False) for line in
             export_lines(services.log, services.engine)]
    key = sealed.signer.public_key
    clean = verify_export(lines, key)
    assert clean.ok, clean.as_json()
    assert clean.authenticated_up_to == services.log.max_position()

    target = positions_of(services, "certification.suspended")[0]
    index = next(i for i, text in enumerate(lines) if f'"position": {target},' in text)
    edited = lines.copy()
    edited[index] = edited[index].replace("抽查不合格", "自愿暂停")
    assert verify_export(edited, key).first_break.position == target

    missing = lines[:index] + lines[index + 1:]
    report = verify_export(missing, key)
    assert report.first_break.position == json.loads(lines[index + 1])["position"]
    assert "does not link" in report.first_break.problem


def test_ledger_fields_let_an_export_line_be_verified_from_its_own_content(services, sealed):
    """The interface of `registry export`: each line is the event's ledger document plus
    "ledger": ledger_fields(engine, positions)[position]."""
    records = [p for p in services.log.read_all() if isinstance(p.event, RecordEvent)]
    positions = [p.position for p in records] + [10 ** 9]
    fields = ledger_fields(services.engine, positions)
    assert 10 ** 9 not in fields  # not sealed: absent
    lines = [{**ledger_document(p.position, p.event), "ledger": fields[p.position]}
             for p in records]
    unsealed = {**ledger_document(10 ** 9, records[0].event)}  # exported before sealing
    report = verify_export([json.dumps(line) for line in lines] + [json.dumps(unsealed)],
                           sealed.signer.public_key)
    assert report.ok and report.entries == len(records)
    assert "1 line(s) carry no ledger fields" in report.notes[0]
    stored = {e.position: e for e in iter_entries(services.engine)}
    assert all(fields[p]["hash"] == stored[p].hash for p in fields)
    first = min(fields)
    assert fields[first]["prev"] == (GENESIS_HASH if first == 1 else
                                     stored[max(p for p in stored if p < first)].hash)
    issued = next(p for p in records if p.event.TYPE == "certification.issued")
    tampered = dataclasses.replace(issued.event, product="假冒产品")
    bad_line = {**ledger_document(issued.position, tampered), "ledger": fields[issued.position]}
    assert not verify_export([json.dumps(bad_line)], sealed.signer.public_key).ok


def test_the_sealer_writes_entries_in_the_tables_column_order():
    """COPY writes each entry as it is built, so its fields must be the table's columns."""
    assert ENTRY_COLUMNS == [column.name for column in entries.columns]


@pytest.mark.parametrize("before_query", [1, 2])
def test_the_status_never_shows_a_checkpoint_past_the_sealed_head_or_a_head_past_the_store(
        services, tmp_path, before_query):
    """`ledger_status` reads the tracking row, the latest checkpoint and the store's head in
    separate statements; a page sealed (and events written) between two of them must not
    give a status whose checkpoint is past the sealed head, nor a sealed head past the
    store (what a CI run of the projector test once read: sealed 0, checkpoint at 108)."""
    from sqlalchemy import event

    from projections.ledger import ledger_status

    write_history(services, records=2)
    sealer = make_sealer(services, tmp_path / "k")
    calls, busy = [0], [False]

    def seal_meanwhile(_conn, _cursor, statement, *_args):
        if busy[0] or not statement.lstrip().upper().startswith("SELECT"):
            return
        calls[0] += 1
        if calls[0] == before_query:
            busy[0] = True
            try:
                _write_one_more(services)
                sealer.catch_up()
            finally:
                busy[0] = False

    event.listen(services.engine, "before_cursor_execute", seal_meanwhile)
    try:
        status = ledger_status(services.engine, services.log)
    finally:
        event.remove(services.engine, "before_cursor_execute", seal_meanwhile)
    assert calls[0] >= before_query  # the seal did land between the status's reads
    checkpoint = status["latest_checkpoint"]["position"] if status["latest_checkpoint"] else 0
    assert checkpoint <= status["sealed_position"] <= status["store_max_position"], status


def _write_one_more(services) -> None:
    import datetime as dt

    from events import EVENT_TYPES
    from events.envelope import parse_envelope
    from tests.helpers import holder, issued

    body = issued("LEDGER-LATE", holder_=holder(name="湖州竹业晚到有限公司", n=600),
                  occurred_on="2022-01-01")
    services.registry.record(services.directory.operator_scope(),
                             parse_envelope(body, EVENT_TYPES, dt.date.today()))
