"""A rebuild's bulk load folded in several processes, split by holder.

Records affect one another only through their holders: a holder family counts an enterprise
once however many of its records count, so its rows depend on every record that ever named
that holder. Records that ever share a holder (through the event that created them or an
amendment of the holder) form one group, and each group is folded whole, in log order, by
one process; every other row is the record's own. So each process writes the records,
holders and intervals of its groups, and what no group owns alone, the series per tenant,
metric and day, is the sum of the processes' deltas: each process sends its deltas back,
grouped by month, and once every process has committed the parent merges them and writes
the sums as series rows with the tracking position, in one transaction (a failed load
writes neither). Meanwhile the tables the processes wrote get their keys and indexes
(`projections.runner`).

The groups are found before any event is decoded, from the stored bytes: every holder is a
JSON object with a "uscc" member, so any event that names a holder holds `"uscc":"…"`.
A value found that is no holder only joins groups that need not be joined (the folds stay
the same, the split less even). Each process checks afterwards that every holder it folded
was assigned to it and fails the load if not (`SplitMismatch`; the rebuild then folds
serially): a wrong split is never written as a result.

Processes are forked (the stored events are shared, not copied or pickled), each with its
own database connections (`Engine.dispose(close=False)`, SQLAlchemy's recipe for a forked
child). PostgreSQL only: SQLite has one writer at a time.
"""

from __future__ import annotations

import bisect
import gc
import heapq
import itertools
import json
import multiprocessing
import operator
import re
import time
from collections import Counter, defaultdict
from concurrent.futures import FIRST_EXCEPTION, ProcessPoolExecutor, ThreadPoolExecutor, wait
from typing import TYPE_CHECKING, Any, Callable

from projections import sqlwrite
from projections.projector import TOPIC_LIST, cyclic_gc_paused
from projections.tracking import next_rows

if TYPE_CHECKING:
    from projections.projector import Projector

# Found in a page's stored states joined by NUL bytes, which the library's JSON never holds
# (a control character in a string is escaped): no match spans two states.
# One pattern per key: a literal start is searched for in C, while an alternation is tried
# at every quote (a 1M log's tenants: 0.9 s, against 3.5 s).
STRING = rb'"([^"\\\x00]*(?:\\[^\x00][^"\\\x00]*)*)"'  # a JSON string's content
USCC = re.compile(rb'"uscc"\s*:\s*' + STRING)
TENANTS = [re.compile(rb'"%s"\s*:\s*' % key + STRING) for key in (b"tenant", b"to_tenant")]


class SplitMismatch(Exception):
    """A process folded a holder that the split gave to another one, or met a tenant whose
    lineage was not prepared for it: the rebuild folds serially instead."""


def _text(value: bytes) -> str:
    """A JSON string's content as found in the stored bytes."""
    return json.loads(b'"' + value + b'"') if b"\\" in value else value.decode()


class Split:
    """Assigns every record, with every holder it ever names, to one of the parts: fed the
    stored events page by page (while the next page is read), then `assign`ed.

    Records are keyed by their id's integer (hashed in C, unlike UUID objects) and holders
    by their USCC strings; the union-find compresses paths as it goes."""

    def __init__(self) -> None:
        self.parent: dict[Any, Any] = {}
        self.ids: list[int] = []
        self.named: set[str] = set()
        self.tenants: set[bytes] = set()

    def find(self, node: Any) -> Any:
        parent = self.parent
        root = node
        while (up := parent.get(root, root)) != root:
            root = up
        while node != root:  # path compression
            parent[node], node = root, parent[node]
        return root

    def add(self, stored: list[Any]) -> None:
        """Take a page of rows of `EventLog.stored_rows`. Its states are searched joined,
        by one regex per pattern: Python runs only for the events that name a holder."""
        ids = [row[1].int for row in stored]
        self.ids.extend(ids)
        states = [row[4] for row in stored]
        joined = b"\x00".join(states)
        for pattern in TENANTS:
            self.tenants.update(pattern.findall(joined))
        if b'"uscc"' not in joined:
            return
        starts = list(itertools.accumulate([len(state) + 1 for state in states], initial=0))
        find, get, named = self.find, self.parent.get, self.named
        for match in USCC.finditer(joined):
            holder = _text(match[1])
            named.add(holder)
            a = ids[bisect.bisect_right(starts, match.start()) - 1]
            if (up := get(a, a)) != a:  # a record joined before: usually to a root
                a = up if get(up, up) == up else find(up)
            if (up := get(holder, holder)) != holder:
                holder = up if get(up, up) == up else find(up)
            if a != holder:
                self.parent[a] = holder

    def assign(self, workers: int) -> tuple[bytearray, dict[str, int], set[str]]:
        """(the part of each stored event, in order; the part of each holder; the tenants
        named). Groups go to the part with the fewest events so far, the largest first."""
        find, get = self.find, self.parent.get
        counts = Counter(self.ids)  # events per record, in the order first met
        # each record's group: its root, usually the record itself or one step above it
        groups = [up if get(up, up) == up else find(up) for up in map(get, counts, counts)]
        sizes: dict[Any, int] = defaultdict(int)
        for group, count in zip(groups, counts.values()):
            sizes[group] += count
        load = [(0, part) for part in range(workers)]
        part_of_group: dict[Any, int] = {}
        # a stable sort: groups of one size in the order first met
        for group, count in sorted(sizes.items(), key=operator.itemgetter(1), reverse=True):
            total, part = heapq.heappop(load)
            part_of_group[group] = part
            heapq.heappush(load, (total + count, part))
        part_of_record = dict(zip(counts, map(part_of_group.__getitem__, groups)))
        parts = bytearray(map(part_of_record.__getitem__, self.ids))
        holders = {holder: part_of_group[find(holder)] for holder in self.named}
        return parts, holders, set(map(_text, self.tenants))


def split(stored: list[Any], workers: int) -> tuple[bytearray, dict[str, int], set[str]]:
    """`Split` of a whole list of stored events."""
    splitter = Split()
    splitter.add(stored)
    return splitter.assign(workers)


class Lineages:
    """The lineages of the tenants the events name and of their ancestors (where a holder's
    row may start), looked up in the parent before the fork: a forked process must not read
    the tenant tree through the parent's connections."""

    def __init__(self, lineage: Callable[[str], list[str]], tenants: set[str]) -> None:
        self.table: dict[str, list[str]] = {}
        for code in tenants:
            found = lineage(code)
            for i, ancestor in enumerate(found):
                self.table.setdefault(ancestor, found[i:])

    def __call__(self, code: str) -> list[str]:
        found = self.table.get(code)
        if found is None:
            raise SplitMismatch(f"tenant {code} was not among the tenants prepared")
        return found


class _Job:
    """What the forked processes inherit (set just before the fork, cleared after)."""

    def __init__(self, projector: "Projector", stored: list[Any], parts: bytearray,
                 holders: dict[str, int], lineages: Lineages, limit: int, flush_rows: int,
                 scanned) -> None:
        self.projector, self.stored, self.parts, self.holders = projector, stored, parts, holders
        self.lineages = lineages
        self.limit, self.flush_rows, self.scanned = limit, flush_rows, scanned


_job: _Job | None = None


def _fold_part(part: int) -> tuple[int, dict]:
    """In a forked process: fold this part's events and write its rows; return how many
    events it folded and its series changes by month (sent back pickled)."""
    gc.disable()  # this process ends after the fold: no full passes of the collector over it
    job = _job
    projector = job.projector
    projector.engine.dispose(close=False)  # the parent's connections stay the parent's
    projector.fold.lineage = job.lineages  # and so do the event store's
    decode = projector.log.decode_row
    stored, parts, limit = job.stored, job.parts, job.limit
    folded = 0

    def pages():
        nonlocal folded
        for i in range(0, len(stored), limit):
            page = [(row[0], decode(row))
                    for row, p in zip(stored[i:i + limit], parts[i:i + limit]) if p == part]
            folded += len(page)
            yield page
            job.scanned[part] = min(i + limit, len(stored))

    checked = 0

    def check(memory) -> None:  # before a page's rows are written: only this part's holders
        nonlocal checked
        members = memory.members
        strays = [holder for holder in itertools.islice(members, checked, None)
                  if job.holders.get(holder) != part]
        if strays:
            raise SplitMismatch(f"part {part} folded holders of other parts: {strays[:5]}")
        checked = len(members)

    months = projector.bulk_fold(pages(), job.flush_rows, check)  # grouped here, in parallel
    return folded, months


def bulk_load_parallel(projector: "Projector", workers: int, limit: int,
                       progress: Callable[[int], None] | None, flush_rows: int,
                       folded: Callable[[], None] | None = None) -> int:
    """Projector.bulk_load over `workers` processes; returns the position reached."""
    started = time.perf_counter()
    # millions of objects that live on: no full passes of the collector over them
    with cyclic_gc_paused():
        return _load(projector, workers, limit, progress, flush_rows, folded, started)


def _load(projector: "Projector", workers: int, limit: int,
          progress: Callable[[int], None] | None, flush_rows: int,
          folded: Callable[[], None] | None, started: float) -> int:
    global _job
    stored: list[Any] = []
    position = 0
    splitter = Split()
    with ThreadPoolExecutor(1, thread_name_prefix="rebuild-read") as reader:
        reading = reader.submit(next_rows, projector.log, position, limit, TOPIC_LIST)
        while (read := reading.result()) is not None:
            position, page = read
            reading = reader.submit(next_rows, projector.log, position, limit, TOPIC_LIST)
            stored.extend(page)
            splitter.add(page)
        parts, holders, tenants = splitter.assign(workers)
    split_at = time.perf_counter()
    scanned = multiprocessing.get_context("fork").Array("q", workers, lock=False)
    _job = _Job(projector, stored, parts, holders, Lineages(projector.lineage, tenants),
                limit, flush_rows, scanned)
    try:
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
            futures = [pool.submit(_fold_part, part) for part in range(workers)]
            reported = 0
            while True:
                done, pending = wait(futures, timeout=0.5, return_when=FIRST_EXCEPTION)
                if progress and stored:  # positions, by the slowest process's scan
                    reach = position * min(scanned) // len(stored)
                    if reach > reported:
                        progress(reach - reported)
                        reported = reach
                if not pending or any(f.exception() for f in done):
                    break
            results = [future.result() for future in futures]
    finally:
        _job = None
    folded_at = time.perf_counter()
    if folded is not None:  # every process has committed its records, holders and intervals
        folded()
    # the series and the tracking, last: the sums of the processes' changes
    results.sort(key=lambda result: -len(result[1]))
    months = results[0][1]
    for _, more in results[1:]:
        sqlwrite.merge_months(months, more)
    projector._bulk_write(end=position, count=sum(folded for folded, _ in results),
                          months=months)
    projector.load_phases = {"read_split": split_at - started, "fold": folded_at - split_at,
                             "series": time.perf_counter() - folded_at}
    if progress and position > reported:
        progress(position - reported)
    return position


__all__ = ["Split", "SplitMismatch", "bulk_load_parallel", "split"]
