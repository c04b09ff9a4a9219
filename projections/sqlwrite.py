"""Bulk writes of a page of projector changes.

SQLAlchemy's per-row parameter handling cost more than the database work here, so the
projector writes with the drivers directly, from the same Table definitions:
SQLite gets `executemany`; PostgreSQL gets binary COPY into temporary tables followed by
one set-based INSERT ... ON CONFLICT / UPDATE ... FROM per table (all in the page's
transaction). Values are adapted the way SQLAlchemy stores them.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection

from projections.tables import ReadModel

INTERVAL_COLUMNS = ["owner", "seq", "tenant", "metric", "valid_from", "valid_to",
                    "known_from", "known_to"]
SERIES_COLUMNS = ["tenant", "metric", "year", "total", "days"]

@lru_cache(maxsize=65536)
def year_and_day(ordinal: int) -> tuple[int, str]:
    """(year, day of the year as the JSON key) of a date ordinal."""
    date = dt.date.fromordinal(ordinal)
    return date.year, str(date.timetuple().tm_yday)
HOLDER_COLUMNS = ["owner", "rows", "next_seq"]


def page_writer(model: ReadModel, dialect: str) -> "PageWriter":
    return SqliteWriter(model) if dialect == "sqlite" else PostgresWriter(model)


class PageWriter:
    """Turns PageChanges into rows; subclasses send them."""

    text_dates = False

    def __init__(self, model: ReadModel) -> None:
        self.model = model
        self.record_columns = [c.name for c in model.records.c]

    def day(self, ordinal: int | None) -> Any:
        if ordinal is None:
            return None
        value = dt.date.fromordinal(ordinal)
        return value.isoformat() if self.text_dates else value

    def date(self, value: dt.date | None) -> Any:
        return value.isoformat() if self.text_dates and value is not None else value

    def stamp(self, value: dt.datetime | None) -> Any:
        if value is None or not self.text_dates:
            return value
        return value.isoformat(" ", "microseconds")

    def write(self, conn: Connection, changes) -> None:
        if changes.records:
            rows = []
            for state in changes.records.values():
                row = state.to_row()
                for name in ("valid_until", "created_on", "last_occurred_on"):
                    row[name] = self.date(row[name])
                for name in ("recorded_at", "updated_at"):
                    row[name] = self.stamp(row[name])
                row["timeline"] = json.dumps(row["timeline"], ensure_ascii=False)
                row["rows"] = json.dumps(row["rows"])
                rows.append(tuple(row[c] for c in self.record_columns))
            self.upsert_records(conn, rows)
        if changes.holders:
            self.upsert_holders(conn, [(h["owner"], json.dumps(h["rows"]), h["next_seq"])
                                       for h in changes.holders.values()])
        if changes.inserts:
            self.insert_intervals(conn, [
                (owner, seq, tenant, metric, self.day(start), self.day(end), self.stamp(known),
                 None) for owner, seq, tenant, metric, start, end, known in changes.inserts])
        if changes.closes:
            self.close_intervals(conn, [(self.stamp(known), owner, seq)
                                        for known, owner, seq in changes.closes])
        if changes.deltas:
            self.merge_series(conn, changes.deltas)

    def merge_series(self, conn: Connection, deltas: dict[tuple[str, str, int], int]) -> None:
        """Add the page's changes per day into the yearly rows they fall in (the database
        adds them to the stored days, so nothing is read back)."""
        by_year: dict[tuple[str, str, int], dict[str, int]] = defaultdict(dict)
        for (tenant, metric, day), amount in deltas.items():
            if amount:
                year, doy = year_and_day(day)
                days = by_year[(tenant, metric, year)]
                days[doy] = days.get(doy, 0) + amount
        rows = [(*key, sum(days.values()), json.dumps(days)) for key, days in by_year.items()]
        if rows:
            self.upsert_series(conn, rows)


class SqliteWriter(PageWriter):
    text_dates = True

    def __init__(self, model: ReadModel) -> None:
        super().__init__(model)
        m = model
        self._records = _values_upsert(m.records.name, self.record_columns, ["record_id"])
        self._holders = _values_upsert(m.holders.name, HOLDER_COLUMNS, ["owner"])
        self._intervals = (f"INSERT INTO {m.intervals.name} ({', '.join(INTERVAL_COLUMNS)}) "
                           f"VALUES ({', '.join(['?'] * 8)})")
        self._closes = f"UPDATE {m.intervals.name} SET known_to = ? WHERE owner = ? AND seq = ?"
        self._series = (
            f"INSERT INTO {m.series.name} ({', '.join(SERIES_COLUMNS)}) VALUES (?, ?, ?, ?, ?) "
            f"ON CONFLICT (tenant, metric, year) DO UPDATE SET total = total + excluded.total, "
            f"days = (SELECT coalesce(json_group_object(k, v), '{{}}') FROM ("
            f"SELECT k, sum(v) AS v FROM (SELECT key AS k, value AS v FROM "
            f"json_each({m.series.name}.days) UNION ALL SELECT key, value FROM "
            f"json_each(excluded.days)) GROUP BY k HAVING sum(v) != 0))")

    def upsert_records(self, conn, rows):
        conn.exec_driver_sql(self._records, [_sqlite_row(r) for r in rows])

    def upsert_holders(self, conn, rows):
        conn.exec_driver_sql(self._holders, rows)

    def insert_intervals(self, conn, rows):
        conn.exec_driver_sql(self._intervals, rows)

    def close_intervals(self, conn, rows):
        conn.exec_driver_sql(self._closes, rows)

    def upsert_series(self, conn, rows):
        conn.exec_driver_sql(self._series, rows)


def _sqlite_row(row: tuple) -> tuple:
    return tuple(int(v) if isinstance(v, bool) else v for v in row)


class PostgresWriter(PageWriter):
    def __init__(self, model: ReadModel) -> None:
        super().__init__(model)
        m, g = model, model.generation
        self._temps = {
            "records": (f"tmp_records_g{g}", self.record_columns,
                        f"(LIKE {m.records.name})"),
            "holders": (f"tmp_holders_g{g}", HOLDER_COLUMNS, f"(LIKE {m.holders.name})"),
            "closes": (f"tmp_closes_g{g}", ["t", "o", "s"], "(t timestamp, o text, s int)"),
            "series": (f"tmp_series_g{g}", SERIES_COLUMNS, f"(LIKE {m.series.name})"),
        }
        updates = ", ".join(f"{c} = excluded.{c}" for c in self.record_columns
                            if c != "record_id")
        iv = m.intervals.name
        self._statements = {
            "records": f"INSERT INTO {m.records.name} SELECT * FROM tmp_records_g{g} "
                       f"ON CONFLICT (record_id) DO UPDATE SET {updates}",
            "holders": f"INSERT INTO {m.holders.name} SELECT * FROM tmp_holders_g{g} "
                       f"ON CONFLICT (owner) DO UPDATE SET rows = excluded.rows, "
                       f"next_seq = excluded.next_seq",
            "closes": f"UPDATE {iv} SET known_to = v.t FROM tmp_closes_g{g} AS v "
                      f"WHERE {iv}.owner = v.o AND {iv}.seq = v.s",
            "series": f"INSERT INTO {m.series.name} SELECT * FROM tmp_series_g{g} "
                      f"ON CONFLICT (tenant, metric, year) DO UPDATE SET "
                      f"total = {m.series.name}.total + excluded.total, "
                      f"days = (SELECT coalesce(jsonb_object_agg(k, v), '{{}}') FROM ("
                      f"SELECT k, sum(v::bigint) AS v FROM (SELECT * FROM jsonb_each_text("
                      f"{m.series.name}.days) UNION ALL SELECT * FROM jsonb_each_text("
                      f"excluded.days)) AS x(k, v) GROUP BY k HAVING sum(v::bigint) <> 0) AS y)",
        }

    def _copy(self, conn, table: str, columns: list[str], rows) -> None:
        with conn.connection.dbapi_connection.cursor() as cursor:
            with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)

    def _via_temp(self, conn, name: str, rows) -> None:
        temp, columns, shape = self._temps[name]
        conn.exec_driver_sql(f"CREATE TEMP TABLE IF NOT EXISTS {temp} {shape} "
                             f"ON COMMIT DELETE ROWS")
        self._copy(conn, temp, columns, rows)
        conn.exec_driver_sql(self._statements[name])

    def upsert_records(self, conn, rows):
        self._via_temp(conn, "records", rows)

    def upsert_holders(self, conn, rows):
        self._via_temp(conn, "holders", rows)

    def insert_intervals(self, conn, rows):
        self._copy(conn, self.model.intervals.name, INTERVAL_COLUMNS, rows)

    def close_intervals(self, conn, rows):
        self._via_temp(conn, "closes", rows)

    def upsert_series(self, conn, rows):
        self._via_temp(conn, "series", rows)


def _values_upsert(table: str, columns: list[str], keys: list[str]) -> str:
    updates = ", ".join(f"{c} = excluded.{c}" for c in columns if c not in keys)
    return (f"INSERT INTO {table} ({', '.join(columns)}) VALUES "
            f"({', '.join(['?'] * len(columns))}) ON CONFLICT ({', '.join(keys)}) "
            f"DO UPDATE SET {updates}")
