"""The records' rows a bulk load sends to PostgreSQL's COPY are `RecordState.values`, in the
order of rm_records' columns; a writer refuses a table whose columns are in another order
rather than send each value to the wrong column."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import Column, MetaData, Table

from projections.sqlwrite import PostgresWriter, dumps
from projections.state import RecordState
from projections.tables import read_model
from projections.timeline import Step, Timeline


def test_the_copy_rows_are_the_records_columns_in_order():
    state = RecordState(
        record_id="a" * 32, kind="certification", key="PZB-1", tenant="330523",
        status="valid", holder_uscc="91330523000000001X", holder_name="湖州竹业",
        valid_until=dt.date(2026, 5, 9), created_on=dt.date(2023, 5, 10),
        last_occurred_on=dt.date(2023, 5, 10), version=1, position=7,
        recorded_at=dt.datetime(2023, 5, 10, 8), updated_at=dt.datetime(2023, 5, 10, 8),
        timeline=Timeline(kind="certification", steps=[Step(738650, "valid", "330523")]),
        rows=[(0, "330523", "certification.valid", 738650, None, None)], next_seq=1)
    model = read_model(1)
    (row,) = PostgresWriter(model).record_rows([state])
    by_column = dict(zip([c.name for c in model.records.c], row))
    assert json.loads(by_column.pop("timeline")) == json.loads(dumps(state.timeline.to_json()))
    assert json.loads(by_column.pop("rows")) == [list(r) for r in state.rows]
    assert by_column == {name: getattr(state, name) for name in by_column}
    assert state.to_row() == {**by_column, "timeline": state.timeline.to_json(),
                              "rows": state.rows}


def test_a_writer_refuses_a_records_table_in_another_order():
    model = read_model(1)
    columns = [Column(c.name, c.type) for c in model.records.c]
    columns[1], columns[2] = columns[2], columns[1]

    class Reordered:
        records = Table("rm_records_reordered", MetaData(), *columns)

    with pytest.raises(TypeError, match="RecordState.COLUMNS"):
        PostgresWriter(Reordered)
