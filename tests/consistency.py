"""Checks that a store holds exactly the acknowledged events, each once, versions gap-free."""

from __future__ import annotations

from collections import Counter, defaultdict
from uuid import UUID

from events import EnvelopeAccepted, RecordEvent, receipt_id
from events.store import EventLog


def assert_store_matches_acknowledgements(log: EventLog, acknowledged: dict[str, int]) -> int:
    """`acknowledged` maps each envelope id a writer got a 2xx for to the position it was
    told. Every one is stored exactly once at that position, nothing unacknowledged is
    stored, every record's versions run 1..n without a gap and every stored record event has
    its receipt. Returns the number of record events."""
    record_events: list[tuple[int, RecordEvent]] = []
    receipts: set[str] = set()
    for positioned in log.read_all():
        if isinstance(positioned.event, RecordEvent):
            record_events.append((positioned.position, positioned.event))
        elif isinstance(positioned.event, EnvelopeAccepted):
            receipts.add(str(positioned.event.originator_id))
    ids = Counter(str(event.envelope_id) for _, event in record_events)
    duplicated = [envelope_id for envelope_id, n in ids.items() if n > 1]
    assert not duplicated, f"stored more than once: {duplicated[:5]}"
    assert set(ids) == set(acknowledged), (
        f"lost: {sorted(set(acknowledged) - set(ids))[:5]}, "
        f"unacknowledged: {sorted(set(ids) - set(acknowledged))[:5]}")
    position_of = {str(event.envelope_id): position for position, event in record_events}
    wrong = {i: (p, position_of[i]) for i, p in acknowledged.items() if position_of[i] != p}
    assert not wrong, f"answered positions differ from the stored ones: {list(wrong.items())[:5]}"
    versions: dict[object, list[int]] = defaultdict(list)
    for _, event in sorted(record_events, key=lambda pair: pair[0]):
        versions[event.originator_id].append(event.originator_version)
    gaps = {rid: v for rid, v in versions.items() if v != list(range(1, len(v) + 1))}
    assert not gaps, f"version sequences with gaps or out of position order: {gaps}"
    assert receipts == {str(receipt_id(UUID(i))) for i in ids}, "receipts differ from events"
    return len(record_events)


def read_model_snapshot(engine, generation: int) -> dict:
    """Every row of one generation of read models, comparable across generations (the
    tracking row's wall-clock time aside)."""
    from sqlalchemy import select

    from projections.tables import read_model

    model = read_model(generation)
    snapshot = {}
    with engine.connect() as conn:
        for table in model.tables():
            base = table.name.rsplit("_g", 1)[0]
            columns = [c for c in table.c if c.name != "updated_at" or base != "rm_tracking"]
            rows = conn.execute(select(*columns)).all()
            if base == "rm_series":  # a year whose changes cancel out is the same as none
                rows = [r for r in rows if r.total or r.days]
            snapshot[base] = sorted((tuple(_comparable(v) for v in row) for row in rows),
                                    key=repr)
    return snapshot


def _comparable(value):
    import json

    return json.dumps(value, sort_keys=True, default=str) if isinstance(value, (dict, list)) \
        else value


def assert_projections_match_a_rebuild(services) -> None:
    """Catch the live projections up, rebuild every event into a fresh generation, and
    compare the two row by row."""
    from projections.runner import rebuild
    from projections.tables import live_generation

    projector = services.projector()
    projector.catch_up()
    engine = services.writer_engine()
    live = live_generation(engine)
    before = read_model_snapshot(engine, live)
    fresh = rebuild(services.log, engine, services.lineage, services.families,
                    grace_seconds=0)
    assert read_model_snapshot(engine, fresh) == before
