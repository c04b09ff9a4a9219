"""The fold alone: what a rebuild's pure computation costs, without reading or writing.

A rebuild reads the log, decodes it, folds every record event into interval rows and writes
them (issue 16). This script separates the fold: it loads --events record events (and their
receipts) into a temporary SQLite file, decodes the record events once, then folds them
--repeat times in one warm process with the cycle collector paused (as a rebuild folds),
in pages of --page, and prints the CPU seconds and microseconds per record event of each
fold. The baseline, measured in the same process: the library's own read and decode of the
same record events (`bench.projections.decode_rate`). What the fold costs beside that tells
how much of a rebuild is the registry's computation and how much is reading and writing.

    .venv/bin/python -m bench.fold --events 300000
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from eventsourcing.utils import get_topic

from api.services import Services
from api.settings import Settings
from bench.dataset import load
from bench.projections import counties_of, decode_rate
from events import RECORD_EVENT_CLASSES
from projections.fold import Fold, Memory, PageChanges
from projections.projector import cyclic_gc_paused
from tenants import seed


def fold_once(svc: Services, events: list, page: int) -> dict:
    """Fold every event into a fresh memory as a bulk load does (deltas summed at the end)."""
    fold = Fold(svc.families, svc.lineage)
    fold.deltas_kept = False
    memory, changes = Memory(1, 0), PageChanges()
    with cyclic_gc_paused():
        started = time.process_time()
        for i in range(0, len(events), page):
            fold.apply(events[i:i + page], memory, changes)
        months = fold.open_row_months(memory)
        seconds = time.process_time() - started
    return {"cpu_s": round(seconds, 2), "us_per_event": round(seconds / len(events) * 1e6, 1),
            "interval_rows": len(changes.inserts), "series_months": len(months)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--events", type=int, default=100_000, help="record events to load")
    parser.add_argument("--page", type=int, default=5000, help="events per folded page")
    parser.add_argument("--repeat", type=int, default=3, help="folds of the same events")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as workdir:
        settings = Settings(database_url=f"sqlite:///{Path(workdir) / 'fold.db'}")
        svc = Services.open(settings, create_tables=True)
        try:
            svc.directory.register_tenants(seed.tenants())
            load(svc.log, counties_of(svc.directory.tree()), args.events)
            topics = [get_topic(cls) for cls in RECORD_EVENT_CLASSES]
            events = [(p.position, p.event) for p in svc.log.read_all(topics=topics,
                                                                       page=args.page)]
            decode = decode_rate(svc, args.page)
            folds = [fold_once(svc, events, args.page) for _ in range(args.repeat)]
        finally:
            svc.close()
    best = min(fold["cpu_s"] for fold in folds)
    result = {"command": " ".join(sys.argv), "record_events": len(events),
              "library_read_decode_per_s": round(decode, 1), "folds": folds,
              "fold_per_s_best": round(len(events) / best, 1),
              "fold_vs_read_decode": round(len(events) / best / decode, 3)}
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
