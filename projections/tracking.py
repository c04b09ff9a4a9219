"""The one compare-and-set every processor commits its position with (projector, audit index,
ledger sealer): in the transaction of its rows, move the tracking row from the position the
page started at to the page's end. A row that moved meanwhile (another process applied the
page) refuses the whole transaction, so a page is applied exactly once."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Table, update


class ConcurrentProjector(Exception):
    """Another process moved the tracking row: this page is not applied."""


# A follower reads at most this many times its page limit of positions at once: a bounded
# window whatever the planner knows, and a window without the topics it follows still moves
# its tracking (projector, webhook deliverer).
READ_WINDOW = 4


def advance(conn: Connection, table: Table, name: str, start: int, end: int,
            what: str, **values: Any) -> None:
    """Move `name`'s row of `table` from `start` to `end` (with `values`), or raise."""
    moved = conn.execute(update(table).where(table.c.name == name, table.c.position == start)
                         .values(position=end, **values))
    if moved.rowcount != 1:
        raise ConcurrentProjector(f"{what} tracking moved past {start}; page not applied")
