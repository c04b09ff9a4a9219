"""Time: recorded_at is UTC; business dates are calendar dates in Asia/Shanghai."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")


class Clock:
    """The wall clock; tests pass a fixed `today` instead."""

    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.timezone.utc)

    def today(self) -> dt.date:
        return self.now().astimezone(SHANGHAI).date()


class FixedClock(Clock):
    """A clock whose business date is fixed (the UTC time still moves)."""

    def __init__(self, today: dt.date) -> None:
        self._today = today

    def today(self) -> dt.date:
        return self._today
