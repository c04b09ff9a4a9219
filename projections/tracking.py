"""The one compare-and-set every processor commits its position with (projector, audit index,
ledger sealer): in the transaction of its rows, move the tracking row from the position the
page started at to the page's end. A row that moved meanwhile (another process applied the
page) refuses the whole transaction, so a page is applied exactly once."""

from __future__ import annotations

from typing import Any, Sequence

from sqlalchemy import Connection, Table, update

from events.store import EventLog


class ConcurrentProjector(Exception):
    """Another process moved the tracking row: this page is not applied."""


# A follower reads at most this many times its page limit of positions at once: a bounded
# window whatever the planner knows, and a window without the topics it follows still moves
# its tracking (projector, webhook deliverer).
READ_WINDOW = 4


def next_window(log: EventLog, start: int, limit: int, topics: Sequence[str]
                ) -> tuple[int, list[Any]] | None:
    """The stored events (not decoded) of `topics` after `start`: at most `limit` of them
    among the next READ_WINDOW × `limit` positions, and the position the window reaches;
    None at the head. Every position up to the head is committed (positions are taken in
    commit order), so a follower that moves its tracking to the window's end skips nothing.

    The window is bounded whatever the planner knows: without statistics PostgreSQL reads
    "every event of these topics up to the head, sorted" as a scan of the rest of the log."""
    stop = _window_stop(log, start, limit)
    if stop is None:
        return None
    notifications = log.recorder.select_notifications(
        start=start, limit=limit, stop=stop, topics=topics, inclusive_of_start=False)
    end = notifications[-1].id if len(notifications) >= limit else stop
    return end, notifications


def _window_stop(log: EventLog, start: int, limit: int) -> int | None:
    """Where the window after `start` ends (None at the head)."""
    head = log.max_position()
    return None if head <= start else min(head, start + READ_WINDOW * limit)


def next_rows(log: EventLog, start: int, limit: int, topics: Sequence[str]
              ) -> tuple[int, list[tuple]] | None:
    """`next_window` as plain rows (`EventLog.stored_rows`): the position first, then the
    stored event (`events.store.StoredRow`)."""
    stop = _window_stop(log, start, limit)
    if stop is None:
        return None
    rows = log.stored_rows(start, stop, topics, limit)
    end = rows[-1][0] if len(rows) >= limit else stop
    return end, rows


def advance(conn: Connection, table: Table, name: str, start: int, end: int,
            what: str, **values: Any) -> None:
    """Move `name`'s row of `table` from `start` to `end` (with `values`), or raise."""
    moved = conn.execute(update(table).where(table.c.name == name, table.c.position == start)
                         .values(position=end, **values))
    if moved.rowcount != 1:
        raise ConcurrentProjector(f"{what} tracking moved past {start}; page not applied")
