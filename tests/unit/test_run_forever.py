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


class Clock:
    """time for the runner: moved on by the loop's pauses only."""

    def __init__(self) -> None:
        self.now = 0.0

    def monotonic(self) -> float:
        return self.now


class TimedRounds(Rounds):
    def __init__(self, rounds: int, clock: Clock) -> None:
        super().__init__(rounds)
        self.clock = clock

    def wait(self, timeout: float | None = None) -> bool:
        self.clock.now += timeout or 0
        return super().wait(timeout)


class TimedPages(Pages):
    def __init__(self, counts: list[int], clock: Clock) -> None:
        super().__init__(counts)
        self.clock = clock
        self.times: list[float] = []

    def process_page(self, limit: int) -> int:
        self.times.append(round(self.clock.now, 3))
        return super().process_page(limit)


def test_while_the_head_stays_put_the_processors_run_once_a_second(monkeypatch):
    """Idle, each round was a query or two per processor ten times a second (about 5 % of
    a core); with the head unchanged since every processor was last caught up, only the
    head is read, and the processors run once a second (their timers: the ledger's signed
    checkpoints, webhook retries)."""
    from projections import runner

    clock = Clock()
    monkeypatch.setattr(runner, "time", clock)
    processor = TimedPages([3], clock)
    stop = TimedRounds(30, clock)  # three seconds of polls
    run_forever([processor], stop, poll=0.1, page=100, head=lambda: 7)
    assert stop.pauses == [0.1] * 30
    assert len(processor.times) == 3 and processor.times[0] == 0.0
    assert all(0.99 <= later - earlier <= 1.11
               for earlier, later in zip(processor.times, processor.times[1:]))


def test_a_moved_head_is_applied_at_the_next_poll(monkeypatch):
    from projections import runner

    clock = Clock()
    monkeypatch.setattr(runner, "time", clock)
    heads = iter([7, 7, 7, 8] + [8] * 10)
    processor = TimedPages([3, 1], clock)
    stop = TimedRounds(6, clock)
    run_forever([processor], stop, poll=0.1, page=100, head=lambda: next(heads))
    assert processor.times == [0.0, 0.3]


def test_a_round_that_failed_is_not_taken_for_caught_up(monkeypatch):
    from sqlalchemy.exc import OperationalError

    from projections import runner

    clock = Clock()
    monkeypatch.setattr(runner, "time", clock)

    class DownOnce(TimedPages):
        def process_page(self, limit: int) -> int:
            found = super().process_page(limit)
            if len(self.times) == 1:
                raise OperationalError("SELECT", {}, Exception("connection refused"))
            return found

    processor = DownOnce([0, 0], clock)
    stop = TimedRounds(4, clock)
    run_forever([processor], stop, poll=0.1, page=100, head=lambda: 7)
    # the failed round (back-off 0.5 s, then the poll) is followed by a full round
    assert processor.times == [0.0, 0.6]


def test_a_round_runs_with_the_cycle_collector_paused():
    """Every follower's page (the audit index's and the ledger's documents too) runs with
    the collector paused, so that its full passes over the projector's memory come once in
    many rounds, not every few hundred allocations; it is back on between rounds."""
    import gc

    class Spy(Pages):
        def __init__(self) -> None:
            super().__init__([3, 0])
            self.enabled: list[bool] = []

        def process_page(self, limit: int) -> int:
            self.enabled.append(gc.isenabled())
            return super().process_page(limit)

    class Between(Rounds):
        def wait(self, timeout: float | None = None) -> bool:
            between.append(gc.isenabled())
            return super().wait(timeout)

    between: list[bool] = []
    processor = Spy()
    run_forever([processor], Between(2), poll=0.1, page=100)
    assert processor.enabled == [False, False] and between == [True, True]
