"""The split of a parallel rebuild (projections.parallel): records that ever share a holder
are folded by one process; the parts are balanced by events; holders and tenants are read
from the stored bytes as the library's JSON writes them."""

from __future__ import annotations

import json
import re
import uuid

from hypothesis import given, settings
from hypothesis import strategies as st

from events.store import StoredRow
from projections.parallel import Split, split


def stored(record: uuid.UUID, **state) -> StoredRow:
    text = json.dumps(state, ensure_ascii=False, separators=(",", ":"))
    return StoredRow(0, record, 1, "topic", text.encode())


def named(state: dict) -> tuple[list[str], set[str]]:
    """What an event names, found in its decoded state: every "uscc" member's string (at any
    depth), and every "tenant" or "to_tenant" member's."""
    holders, tenants = [], set()

    def walk(value):
        if isinstance(value, dict):
            for key, inner in value.items():
                if key == "uscc" and isinstance(inner, str):
                    holders.append(inner)
                if key in ("tenant", "to_tenant") and isinstance(inner, str):
                    tenants.add(inner)
                walk(inner)
        elif isinstance(value, list):
            for inner in value:
                walk(inner)

    walk(state)
    return holders, tenants


def reference_split(log: list[StoredRow]) -> tuple[dict, dict[str, object], set[str]]:
    """The groups of records and holders, by a plain union-find over the decoded states:
    (the group of each record, the group of each holder, the tenants named)."""
    parent: dict = {}

    def find(node):
        while parent.get(node, node) != node:
            node = parent[node]
        return node

    holders_seen, tenants = set(), set()
    for row in log:
        holders, more = named(json.loads(row.state))
        tenants |= more
        for holder in holders:
            holders_seen.add(holder)
            a, b = find(row.originator_id.int), find(("holder", holder))
            if a != b:
                parent[a] = b
    return ({row.originator_id.int: find(row.originator_id.int) for row in log},
            {holder: find(("holder", holder)) for holder in holders_seen}, tenants)


def test_holders_and_tenants_are_read_from_the_stored_bytes_escapes_included():
    log = [stored(uuid.uuid4(), tenant="330523", holder={"name": "甲\"乙", "uscc": "9133\"X"},
                  changes={"lead": {"uscc": "91330000000000001A", "name": "丙"}},
                  to_tenant="330106"),
           stored(uuid.uuid4(), tenant="330524", product="uscc", note='"uscc":"NOT"')]
    parts, holders, tenants = split(log, 2)
    assert set(holders) == {"9133\"X", "91330000000000001A"}
    assert tenants == {"330106", "330523", "330524"}


CODES = st.sampled_from(["330523", "330106", "330000", "33\"06", "330523\\"])
USCCS = st.sampled_from(["H1", "H2", "H3", "9133\"X", "91\\33", "甲乙", "H\u2028", "uscc"])
TEXT = st.one_of(st.text(max_size=8), USCCS, st.just('"uscc":"H9"'), st.just('"tenant":"9"'))
LEAF = st.one_of(TEXT, st.integers(), st.none(), st.booleans())
HOLDER = st.fixed_dictionaries({"uscc": USCCS}, optional={"name": TEXT})
VALUE = st.recursive(
    st.one_of(LEAF, HOLDER),
    lambda inner: st.one_of(st.lists(inner, max_size=3),
                            st.dictionaries(st.sampled_from(["holder", "lead", "changes", "uscc",
                                                             "tenant", "x"]), inner,
                                            max_size=3)),
    max_leaves=6)
STATE = st.fixed_dictionaries({"tenant": CODES}, optional={
    "holder": HOLDER, "changes": VALUE, "to_tenant": CODES, "note": TEXT, "extra": VALUE})


@settings(max_examples=400, deadline=None, database=None)
@given(st.lists(st.tuples(st.integers(0, 7), STATE), max_size=30), st.integers(1, 4),
       st.integers(1, 7))
def test_the_split_groups_what_a_walk_of_the_decoded_states_groups(events, workers, page):
    """Whatever the events hold (escapes, holders nested anywhere, keys named like the
    patterns inside strings), the split found in the stored bytes page by page groups the
    records and holders as a union-find over the decoded states does, and names the same
    tenants; every record is in one part and every holder in its records' part."""
    records = [uuid.UUID(int=n + 1) for n in range(8)]
    log = [stored(records[n], **state) for n, state in events]
    splitter = Split()
    for i in range(0, len(log), page):
        splitter.add(log[i:i + page])
    parts, holders, tenants = splitter.assign(workers)
    record_groups, holder_groups, named_tenants = reference_split(log)
    assert tenants == named_tenants
    assert set(holders) == set(holder_groups)
    part_of_group: dict = {}
    for row, part in zip(log, parts):
        assert 0 <= part < workers
        group = record_groups[row.originator_id.int]
        assert part_of_group.setdefault(group, part) == part  # one group: one part
    for holder, group in holder_groups.items():
        assert part_of_group.setdefault(group, holders[holder]) == holders[holder]
    groups_per_part: dict = {}
    for group, part in part_of_group.items():
        groups_per_part.setdefault(part, set()).add(group)
    for part, groups in groups_per_part.items():  # no two groups merged that need not be
        assert len({splitter.find(g if isinstance(g, int) else g[1]) for g in groups}) == \
            len(groups)


def test_records_that_ever_share_a_holder_go_to_one_part_and_parts_balance_by_events():
    a, b, c, d, e = (uuid.uuid4() for _ in range(5))
    log = [stored(a, tenant="330523", holder={"uscc": "H1"}),
           stored(b, tenant="330523", holder={"uscc": "H2"}),
           stored(c, tenant="330106", holder={"uscc": "H3"}),
           stored(d, tenant="330106"),  # no holder: a group of its own
           stored(e, tenant="330106", holder={"uscc": "H4"}),
           stored(b, tenant="330523", changes={"holder": {"uscc": "H1"}}),  # joins a's group
           stored(c, tenant="330106"), stored(c, tenant="330106"), stored(d, tenant="330106")]
    parts, holders, tenants = split(log, 2)
    part_of = {}
    for notification, part in zip(log, parts):
        assert part_of.setdefault(notification.originator_id, part) == part  # a record: one part
    assert part_of[a] == part_of[b] == holders["H1"] == holders["H2"]
    assert holders["H3"] == part_of[c] and holders["H4"] == part_of[e]
    assert tenants == {"330523", "330106"}
    load = [sum(1 for p in parts if p == k) for k in range(2)]
    assert sorted(load) == [4, 5]  # groups of 3 (a, b), 3 (c), 2 (d), 1 (e)
    assert set(split(log, 1)[0]) == {0}
