"""The series rows of a parallel rebuild: each process groups its own changes by month,
the parent merges the groups; the rows equal those of the summed changes."""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter

from hypothesis import given
from hypothesis import strategies as st

from projections.sqlwrite import (
    merge_months,
    month_groups,
    month_rows,
    series_rows,
)

DAYS = st.integers(dt.date(2024, 12, 28).toordinal(), dt.date(2025, 2, 3).toordinal())
KEYS = st.tuples(st.sampled_from(["330000", "330523"]), st.sampled_from(["a", "b"]), DAYS)
CHANGES = st.dictionaries(KEYS, st.integers(-2, 2), max_size=30)


@given(parts=st.lists(CHANGES, min_size=1, max_size=3))
def test_merged_month_groups_give_the_rows_of_the_summed_changes(parts):
    summed = Counter()
    for part in parts:
        summed.update(part)
    merged = month_groups(parts[0])
    for part in parts[1:]:
        merge_months(merged, month_groups(part))
    assert parsed(month_rows(merged)) == parsed(series_rows(dict(summed)))


def parsed(rows: list[tuple]) -> list[tuple]:
    """Rows with their days as dicts (the same JSON object, whatever the order of keys)."""
    return sorted((*row[:5], json.loads(row[5])) for row in rows)


def test_changes_that_cancel_out_across_processes_leave_no_row():
    day = dt.date(2025, 1, 15).toordinal()
    merged = month_groups({("330000", "a", day): 1})
    merge_months(merged, month_groups({("330000", "a", day): -1}))
    assert month_rows(merged) == []
    other = dt.date(2025, 1, 16).toordinal()
    merge_months(merged, month_groups({("330000", "a", other): 2}))
    assert month_rows(merged) == [("330000", "a", 2025, 1, 2, '{"16":2}'),
                                  ("330000", "a", 2025, 0, 2, "{}")]
