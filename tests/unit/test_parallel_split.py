"""The split of a parallel rebuild (projections.parallel): records that ever share a holder
are folded by one process; the parts are balanced by events; holders and tenants are read
from the stored bytes as the library's JSON writes them."""

from __future__ import annotations

import json
import uuid

from events.store import StoredRow
from projections.parallel import holders_named, split, tenants_named


def stored(record: uuid.UUID, **state) -> StoredRow:
    text = json.dumps(state, ensure_ascii=False, separators=(",", ":"))
    return StoredRow(0, record, 1, "topic", text.encode())


def test_holders_and_tenants_are_read_from_the_stored_bytes_escapes_included():
    state = stored(uuid.uuid4(), tenant="330523", holder={"name": "甲\"乙", "uscc": "9133\"X"},
                   changes={"lead": {"uscc": "91330000000000001A", "name": "丙"}},
                   to_tenant="330106").state
    assert holders_named(state) == ["9133\"X", "91330000000000001A"]
    assert sorted(tenants_named(state)) == [b"330106", b"330523"]
    assert holders_named(b'{"tenant":"330523","product":"uscc"}') == []


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
