"""A bulk load's series changes come from the rows open at its end, grouped by month as they
are counted (`Fold.open_row_months`): the same month rows as counting every open row's +1
at its start and -1 at its end, in each tenant it counts in (a record's lineage, a
holder's run up to `up_to`), and grouping the summed changes afterwards."""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter

from hypothesis import given
from hypothesis import strategies as st

from projections.families import FamilySet
from projections.fold import Fold, HolderRows, Memory
from projections.sqlwrite import month_rows, series_rows
from tests.helpers import SIX_TENANTS, six_tenant_lineage

PARENT, lineage = SIX_TENANTS, six_tenant_lineage
FIRST = dt.date(2024, 12, 28).toordinal()


def open_row(holder: bool):
    """(seq, tenant, metric, start, end, up_to): a holder's `up_to` is in its lineage."""
    tenant = st.sampled_from(sorted(PARENT))
    return st.tuples(st.integers(0, 5), tenant, st.sampled_from(["a", "b@2024"]),
                     st.integers(FIRST, FIRST + 70)).flatmap(
        lambda row: st.tuples(
            st.just(row[0]), st.just(row[1]), st.just(row[2]), st.just(row[3]),
            st.none() | st.integers(row[3] + 1, FIRST + 100),
            st.sampled_from(lineage(row[1])) if holder else st.none()))


class _State:
    def __init__(self, rows: list[tuple]) -> None:
        self.rows = rows


@given(records=st.lists(st.lists(open_row(False), max_size=4), max_size=5),
       holders=st.lists(st.lists(open_row(True), max_size=4), max_size=5))
def test_the_months_are_those_of_every_open_rows_changes_summed(records, holders):
    memory = Memory(1, 0)
    memory.states = {f"r{i}": _State(rows) for i, rows in enumerate(records)}
    memory.holders = {f"h|{i}": HolderRows(f"h|{i}", rows, 6) for i, rows in enumerate(holders)}
    summed: Counter = Counter()
    for rows in records + holders:
        for _, tenant, metric, start, end, up_to in rows:
            codes = lineage(tenant)
            if up_to is not None:
                codes = codes[:codes.index(up_to) + 1]
            for code in codes:
                summed[(code, metric, start)] += 1
                if end is not None:
                    summed[(code, metric, end)] -= 1
    fold = Fold(FamilySet([]), lineage)
    assert parsed(month_rows(fold.open_row_months(memory))) == parsed(series_rows(dict(summed)))


def parsed(rows: list[tuple]) -> list[tuple]:
    """Rows with their days as dicts (the same JSON object, whatever the order of keys)."""
    return sorted((*row[:5], json.loads(row[5])) for row in rows)
