"""The domain without a database (issue 15): decisions and lifecycles, scope, replays on a
date, and the progress arithmetic, on the in-memory event store."""

from __future__ import annotations

import datetime as dt

import pytest

from events import EVENT_TYPES, OpeningBook
from events.envelope import parse_envelope
from events.openings import Opening
from projections.plan_values import (
    BEFORE_OPENING,
    NO_STOCK,
    Counting,
    MeasureValues,
    Stocks,
)
from projections.families import FamilySet
from registry.errors import (
    EnvelopeIdReused,
    IllegalTransition,
    RecordExists,
    RecordNotFound,
    VersionConflict,
)
from events import allowed_types
from registry.records import Record
from events import record_id
from tenants import seed
from tenants.tree import Tenant, TenantTree
from tenants.errors import NotFound, OutOfScope
from tests.helpers import envelope, issued

TODAY = dt.date(2026, 1, 1)


def parsed(body: dict):
    return parse_envelope(body, EVENT_TYPES, TODAY)


def test_a_certificate_lives_through_its_lifecycle_and_says_what_is_allowed(memory, scope_of):
    _, _, registry = memory
    cb = scope_of("certification-body", "330500", ("certification",))
    assert registry.record(cb, parsed(issued("D-1"))).version == 1
    registry.record(cb, parsed(envelope("certification.suspended", "D-1", "2024-01-01",
                                        {"reason": "抽查不合格"})))
    with pytest.raises(IllegalTransition) as refused:
        registry.record(cb, parsed(envelope("certification.suspended", "D-1", "2024-02-01",
                                            {"reason": "again"})))
    assert refused.value.extra["state"] == "suspended"
    assert set(refused.value.extra["allowed_types"]) == set(allowed_types("certification",
                                                                          "suspended"))
    with pytest.raises(VersionConflict):
        registry.record(cb, parsed(envelope("certification.reinstated", "D-1", "2024-03-01",
                                            expected_version=1)))
    with pytest.raises(RecordExists):
        registry.record(cb, parsed(issued("D-1")))
    with pytest.raises(RecordNotFound):
        registry.record(cb, parsed(envelope("certification.suspended", "NOPE", "2024-01-01",
                                            {"reason": "r"})))


def test_an_envelope_is_idempotent_and_its_id_cannot_be_reused(memory, scope_of):
    _, _, registry = memory
    cb = scope_of("certification-body", "330500", ("certification",))
    body = issued("D-2")
    first = registry.record(cb, parsed(body))
    again = registry.record(cb, parsed(body))
    assert again.replayed and again.position == first.position
    with pytest.raises(EnvelopeIdReused):
        registry.record(cb, parsed({**issued("D-3"), "id": body["id"]}))


def test_scope_keeps_writers_and_admins_in_their_subtree_and_level(memory, scope_of):
    _, _, registry = memory
    anji = scope_of("certification-body", "330523", ("certification",))
    with pytest.raises(OutOfScope):
        registry.record(anji, parsed(issued("S-1", tenant="330522")))
    county = scope_of("admin", "330523")
    award = envelope("award.granted", "AW-1", "2024-05-01", {
        "level": "provincial", "title": "省政府质量奖", "year": 2024,
        "awardee": issued("x")["data"]["holder"]}, tenant="330523")
    with pytest.raises(OutOfScope):
        registry.record(county, parsed(award))
    assert county.covers("330523") and not county.covers("330522")
    with pytest.raises(NotFound):
        county.visible_tenant("999999")
    with pytest.raises(OutOfScope):
        county.visible_tenant("330522")
    assert anji.readable_kinds() == frozenset({"certification"})


def test_a_record_replays_to_its_state_on_any_date(memory, scope_of):
    log, _, registry = memory
    cb = scope_of("certification-body", "330500", ("certification",))
    registry.record(cb, parsed(issued("R-1", occurred_on="2023-05-10",
                                      valid_until="2024-05-09")))
    registry.record(cb, parsed(envelope("certification.suspended", "R-1", "2023-09-01",
                                        {"reason": "r"})))
    history = log.history(record_id("certification", "R-1"))
    record = Record.replay(history)
    assert record.status_on(dt.date(2023, 12, 31)) == "suspended"
    assert record.status_on(dt.date(2024, 5, 10)) == "expired"  # after valid_until
    assert Record.replay(history, as_of=dt.date(2023, 6, 1)).status_on(
        dt.date(2023, 6, 1)) == "valid"


class Counts:
    """Registry counts given by hand: (tenant, day) -> value of the measure."""

    def __init__(self, values: dict[tuple[str, dt.date], int]) -> None:
        self.values = values

    def get(self, tenant: str, metrics: list[str], day: dt.date) -> int:
        found = [v for (t, d), v in self.values.items() if t == tenant and d <= day]
        return max(found, default=0) if metrics else 0


def values_with(openings: list[Opening], counts: dict, stocks: Stocks | None = None):
    tree = TenantTree(Tenant(**t) for t in seed.tenants())
    book = OpeningBook(openings, {t.code: tree.ancestors(t.code) for t in tree.all()})
    families = FamilySet.build({"m": {"kind": "standard", "reached": ["published"]}})
    return MeasureValues(Counts(counts), families, book, stocks or Stocks(), tree)


def opening(tenant: str, value: float, on: dt.date) -> Opening:
    return Opening(tenant, "m", value, on, "统计年报", dt.datetime(2026, 1, 1), {})


CUMULATIVE = Counting("m", "ever")
NEW = Counting("m", "ever", (dt.date(2021, 1, 1), dt.date(2025, 12, 31)))


def test_a_cumulative_value_adds_the_registry_since_the_opening():
    values = values_with([opening("330000", 1500, dt.date(2020, 12, 31))],
                         {("330000", dt.date(2020, 12, 31)): 100,
                          ("330000", dt.date(2023, 1, 1)): 130})
    found = values.cumulative("330000", CUMULATIVE, dt.date(2023, 6, 30))
    assert (found.value, found.registry_value) == (1530, 130)


def test_a_parent_without_an_opening_adds_its_childrens_adjustments():
    values = values_with([opening("330500", 200, dt.date(2020, 12, 31))],
                         {("330500", dt.date(2020, 12, 31)): 50,
                          ("330000", dt.date(2020, 12, 31)): 70})
    assert values.cumulative("330000", CUMULATIVE, dt.date(2022, 1, 1)).value == 70 + 150


def test_a_value_before_the_only_opening_is_unknown():
    values = values_with([opening("330000", 1600, dt.date(2024, 6, 30))], {})
    found = values.cumulative("330000", CUMULATIVE, dt.date(2021, 12, 31))
    assert (found.value, found.reason) == (None, BEFORE_OPENING)


def test_a_new_count_starts_from_a_printed_stock_or_is_unknown():
    openings = [opening("330000", 2400, dt.date(2024, 6, 30))]
    unknown = values_with(openings, {}).new("330000", NEW, dt.date(2025, 6, 30))
    assert (unknown.value, unknown.reason) == (None, NO_STOCK)
    stocks = Stocks({("330000", "m", 2020): {"value": 1979, "year": 2020, "plan": "p"}})
    known = values_with(openings, {}, stocks).new("330000", NEW, dt.date(2025, 6, 30))
    assert known.value == 2400 - 1979 and known.stock["plan"] == "p"


def test_new_records_are_stored_without_a_read_and_every_other_answer_is_unchanged(
        memory, scope_of, monkeypatch):
    """A post or batch of types that only create records is first decided without reading
    (issue 16); whenever that cannot hold (the record exists, the envelope is a retry or
    reuses an id, the decision refuses) the answer is the one a read gives."""
    log, _, registry = memory
    cb = scope_of("certification-body", "330500", ("certification",))
    reads: list[list] = []
    histories = log.histories

    def spy(ids):
        reads.append(list(ids))
        return histories(ids)

    monkeypatch.setattr(log, "histories", spy)
    body = issued("D-NEW")
    first = registry.record(cb, parsed(body))
    assert first.version == 1 and not first.replayed and reads == []
    batch = registry.record_batch(cb, [parsed(issued(f"D-NEW-{n}")) for n in range(3)])
    assert [r.version for r in batch.receipts] == [1, 1, 1] and reads == []

    again = registry.record(cb, parsed(body))  # a retry: the insert fails, the read replays
    assert again.replayed and again.position == first.position and len(reads) == 1
    with pytest.raises(RecordExists):
        registry.record(cb, parsed(issued("D-NEW")))
    with pytest.raises(EnvelopeIdReused):
        registry.record(cb, parsed({**issued("D-OTHER"), "id": body["id"]}))
    with pytest.raises(OutOfScope):  # refused without reading first, then read and refused
        registry.record(cb, parsed(issued("D-FAR", tenant="330102")))
    assert len(reads) == 4
    suspended = registry.record(cb, parsed(envelope("certification.suspended", "D-NEW",
                                                    "2024-01-01", {"reason": "r"})))
    assert suspended.version == 2 and len(reads) == 5  # other types read first, as before
    assert [p.event.originator_version for p in log.history(record_id("certification",
                                                                      "D-NEW"))] == [1, 2]
