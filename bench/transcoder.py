"""Transcoder benchmark: the library's JSONTranscoder against an orjson one, same process.

States are built from the registry's own event classes (bench/dataset.py's record events, each
followed by its receipt, as the log holds them). For each transcoder it times encode/decode of
the states and the library's `Mapper.to_stored_event` / `to_domain_event` (what each append
and each event the projector reads pays). The default transcoder is the library's
JSONTranscoder with the store's transcodings (the library's and DateAsISO).
`OrjsonTranscoder` writes the same `{"_type_", "_data_"}` format and reads as the store
does (`events.transcoder.OrjsonReading`). Every state (and a few nested
edge cases) is checked against the library's own round trip, by type and value: same bytes,
each side reading the other's bytes, mapper round trips; exit 1 on any failure. Timings: best
of --repeat runs, cyclic GC paused (as in the projector).

    .venv/bin/python -m bench.transcoder                  # 20,000 record events (+ receipts)
    .venv/bin/python -m bench.transcoder --events 5000 --repeat 3
"""
from __future__ import annotations

import argparse
import datetime as dt
import gc
import sys
import time
from collections import OrderedDict
from decimal import Decimal
from typing import Any, Callable
from uuid import uuid4

import orjson
from eventsourcing.persistence import JSONTranscoder, Mapper
from eventsourcing.persistence import TranscodingNotRegisteredError

from bench.dataset import record_histories
from events.store import EventLog
from events.transcoder import OrjsonReading
from tenants import seed

# datetime, date, time and dataclasses go to `default` (json does not write them either)
_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS
_PLAIN = frozenset((str, int, float, bool, type(None)))  # nothing inside to tag


class OrjsonTranscoder(OrjsonReading):
    """The JSONTranscoder's format, written and read by orjson: the store's reading
    (events.transcoder.OrjsonReading), and writing with orjson too.

    json stays the fallback for what orjson refuses (non-str keys, ints over 64 bits).
    Objects of registered types are tagged in one walk before orjson writes (it writes
    UUIDs natively and cannot be told not to). Differences left in writing: orjson writes
    NaN/Infinity as null and plain enums as their values."""

    def encode(self, obj: Any) -> bytes:
        try:
            return orjson.dumps(self._tag(obj), default=self._encode_obj, option=_OPTIONS)
        except orjson.JSONEncodeError as error:
            if isinstance(error.__cause__, TranscodingNotRegisteredError):
                raise error.__cause__ from None
            return super().encode(obj)

    def _tag(self, value: Any) -> Any:
        """`value` with each object of a registered type replaced by its tag, walking what
        json walks (dicts, lists, tuples and their subclasses); a container is copied only
        when something inside it changes."""
        if isinstance(value, dict):
            changed = None
            for key, item in value.items():
                if type(item) in _PLAIN or (new := self._tag(item)) is item:
                    continue
                changed = changed or dict(value)
                changed[key] = new
            return value if changed is None else changed
        if isinstance(value, (list, tuple)):
            items = [self._tag(item) for item in value]
            return value if all(a is b for a, b in zip(items, value)) else items
        transcoding = self.types.get(type(value))
        if transcoding is None:
            return value  # json-native, or orjson hands it to `default`, which raises
        data = transcoding.encode(value)
        return {"_type_": transcoding.name,
                "_data_": data if type(data) in _PLAIN else self._tag(data)}


def same(a: Any, b: Any) -> bool:
    """Equal values of the same types, all the way down (date != datetime, 1 != 1.0)."""
    if type(a) is not type(b):
        return False
    if type(a) is dict:
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if type(a) in (list, tuple):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return a == b


def best(repeat: int, run: Callable[[], Any]) -> float:
    """Best wall time of `repeat` runs, the cyclic GC paused."""
    times = []
    for _ in range(repeat):
        gc.collect()
        gc.disable()
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
        gc.enable()
    return min(times)


# Beyond the data set: nesting, tuples, Decimal, tags inside lists (checked, not timed).
EDGES = [{"ids": [uuid4(), {"at": dt.datetime(2024, 1, 2, 3, 4, 5, 6, dt.timezone.utc)}],
          "pair": (dt.date(2024, 2, 29), Decimal("1.10")), "n": None, "x": 1.5, "i": -3},
         {"_type_": "not a tag"}, [1, "二", {"k": uuid4()}], "plain", 42,
         OrderedDict(a=uuid4(), b=[dt.date(2000, 1, 1)])]


def check(default: JSONTranscoder, fast: OrjsonTranscoder, states: list, events: list,
          mappers: dict[str, Mapper]) -> dict[str, int]:
    """Failures per check, each against the library's own round trip, by type and value."""
    cases = states + EDGES
    ours, theirs = [fast.encode(s) for s in cases], [default.encode(s) for s in cases]
    expected = [default.decode(b) for b in theirs]  # the library's own round trip
    return {
        "bytes differ": sum(a != b for a, b in zip(ours, theirs)),
        "orjson reads json bytes": sum(
            not same(fast.decode(b), e) for b, e in zip(theirs, expected)),
        "json reads orjson bytes": sum(
            not same(default.decode(b), e) for b, e in zip(ours, expected)),
        "orjson round trip": sum(not same(fast.decode(b), e) for b, e in zip(ours, expected)),
        "mapper round trip": sum(not same(vars(m.to_domain_event(m.to_stored_event(e))),
                                          vars(e)) for m in mappers.values() for e in events),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=20_000, help="record events to build "
                        "(each followed by its receipt, as in the log)")
    parser.add_argument("--repeat", type=int, default=5, help="timed runs; the best counts")
    args = parser.parse_args(argv)

    counties = [t["code"] for t in seed.tenants() if t["level"] == "county"]
    events = list(record_histories(counties, args.events))
    transcodings = EventLog.memory().mapper.transcoder.names.values()  # the store's
    default, fast = JSONTranscoder(), OrjsonTranscoder()  # the library's, and orjson's
    for transcoding in transcodings:
        default.register(transcoding)
        fast.register(transcoding)
    mappers = {"json": Mapper(transcoder=default), "orjson": Mapper(transcoder=fast)}
    skip = {"originator_id", "originator_version"}  # what Mapper.to_stored_event encodes:
    states = [{k: v for k, v in vars(e).items() if k not in skip} for e in events]
    failures = check(default, fast, states, events, mappers)

    n, timings = len(events), {}
    for name, transcoder in (("json", default), ("orjson", fast)):
        mapper = mappers[name]
        blobs = [transcoder.encode(s) for s in states]
        stored = [mapper.to_stored_event(e) for e in events]
        timings[name] = [best(args.repeat, run) for run in (
            lambda: [transcoder.encode(s) for s in states],
            lambda: [transcoder.decode(b) for b in blobs],
            lambda: [mapper.to_stored_event(e) for e in events],
            lambda: [mapper.to_domain_event(s) for s in stored])]
    size = sum(map(len, blobs)) / n
    bare = [best(args.repeat, lambda: [orjson.dumps(s) for s in states]),
            best(args.repeat, lambda: [orjson.loads(b) for b in blobs])]

    print(f"{n} stored events ({args.events} record events + receipts), {size:.0f} bytes of "
          f"state on average; best of {args.repeat}, GC paused\n{'operation':<18}{'json ev/s':>12}"
          f"{'orjson ev/s':>13}{'json us':>9}{'orjson us':>11}{'ratio':>7}")
    for i, op in enumerate(("encode", "decode", "to_stored_event", "to_domain_event")):
        slow, quick = timings["json"][i], timings["orjson"][i]
        print(f"{op:<18}{n / slow:>12,.0f}{n / quick:>13,.0f}{slow / n * 1e6:>9.2f}"
              f"{quick / n * 1e6:>11.2f}{slow / quick:>6.1f}x")
    print(f"ceiling without tags (orjson alone; UUIDs and dates left as strings): dumps "
          f"{bare[0] / n * 1e6:.2f} us, loads {bare[1] / n * 1e6:.2f} us")
    print("round-trip checks: " + ", ".join(f"{k}: {v}" for k, v in failures.items()))
    print(f"failures: {sum(failures.values())}")
    return int(sum(failures.values()) > 0)


if __name__ == "__main__":
    sys.exit(main())
