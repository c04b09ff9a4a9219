"""The projector's loop: pages of a backlog back to back; otherwise a pause between rounds,
so that events arriving one by one are applied a poll's worth at a time instead of one
transaction per processor for every event or two."""

from __future__ import annotations

import threading

from projections.runner import run_forever


class Pages:
    """A processor whose pages advance by the given counts, then stay caught up."""

    def __init__(self, counts: list[int]) -> None:
        self.counts = list(counts)
        self.calls = 0

    def ensure_tracking(self) -> None:
        pass

    def process_page(self, limit: int) -> int:
        self.calls += 1
        return self.counts.pop(0) if self.counts else 0


class Rounds(threading.Event):
    """Records each pause of the loop and stops it after `rounds` pauses."""

    def __init__(self, rounds: int) -> None:
        super().__init__()
        self.rounds = rounds
        self.pauses: list[float] = []

    def wait(self, timeout: float | None = None) -> bool:
        self.pauses.append(timeout)
        if len(self.pauses) >= self.rounds:
            self.set()
        return self.is_set()


def test_a_backlog_is_applied_page_after_page_without_pausing():
    processor = Pages([100, 100, 100, 40])
    stop = Rounds(2)
    run_forever([processor], stop, poll=0.1, page=100)
    # three full pages back to back, then the partial one, then pauses
    assert processor.calls == 5 and stop.pauses == [0.1, 0.1]


def test_a_partial_page_is_followed_by_a_pause():
    """Events trickling in (a few per round) wait a poll before the next round."""
    processor = Pages([3, 2, 5, 1])
    stop = Rounds(4)
    run_forever([processor], stop, poll=0.1, page=100)
    assert processor.calls == 4 and stop.pauses == [0.1] * 4


def test_one_processor_with_a_backlog_keeps_the_loop_going():
    busy, idle = Pages([100, 100, 7]), Pages([])
    stop = Rounds(2)
    run_forever([busy, idle], stop, poll=0.1, page=100)
    assert busy.calls == 4 and idle.calls == 4 and stop.pauses == [0.1, 0.1]
