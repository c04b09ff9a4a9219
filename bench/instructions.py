"""One folding process's work on a stored log, to be counted in instructions by callgrind.

A rebuild's seconds vary from run to run with the machine (by a tenth on a shared 2-core
machine), more than most single changes to the fold save. The instructions one process
executes do not: `valgrind --tool=callgrind` counts them, the same for the same code and
events whatever else the machine does. This script does what a folding process of a
parallel rebuild does, on a SQLite file of stored events made once with --make: decode
the record events, fold them as a bulk load does, group the series changes by month and
build the rows PostgreSQL's COPY would get. Run it under callgrind twice, with and without
--setup-only (imports and reading the log only), and take the difference:

    .venv/bin/python -m bench.instructions --make 30000 --db /tmp/fold-30k.db
    valgrind --tool=callgrind --callgrind-out-file=/dev/null .venv/bin/python -m bench.instructions --db /tmp/fold-30k.db
    valgrind --tool=callgrind --callgrind-out-file=/dev/null .venv/bin/python -m bench.instructions --db /tmp/fold-30k.db --setup-only

Without valgrind it prints each part's CPU seconds (more events give steadier figures).
Set PYTHONHASHSEED=0 to compare counts across runs exactly.
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
import time

from api.services import Services
from api.settings import Settings
from projections.fold import Fold, Memory, PageChanges
from projections.projector import TOPIC_LIST
from projections.sqlwrite import PostgresWriter
from projections.tables import read_model
from projections.tracking import next_rows
from tenants import seed


def make(path: str, events: int) -> None:
    """Store `events` record events (and their receipts) in a new SQLite file."""
    from bench.dataset import load
    from bench.projections import counties_of

    svc = Services.open(Settings(database_url=f"sqlite:///{path}"), create_tables=True)
    try:
        svc.directory.register_tenants(seed.tenants())
        load(svc.log, counties_of(svc.directory.tree()), events)
    finally:
        svc.close()


def work(svc: Services, rows: list, page: int) -> dict:
    """A folding process's work on `rows` (EventLog.stored_rows), with each part's CPU."""
    times, started = {}, time.process_time()

    def lap(name: str) -> None:
        nonlocal started
        now = time.process_time()
        times[name] = round(now - started, 2)
        started = now

    decode = svc.log.decode_row
    events = [(row[0], decode(row)) for row in rows]
    lap("decode_s")
    fold = Fold(svc.families, svc.lineage)
    fold.deltas_kept = False  # as a bulk load folds
    memory, changes = Memory(1, 0), PageChanges()
    for i in range(0, len(events), page):
        fold.apply(events[i:i + page], memory, changes)
    lap("fold_s")
    months = fold.open_row_months(memory)
    lap("months_s")
    writer = PostgresWriter(read_model(1))
    records = writer.record_rows(memory.states.values())
    holders = writer.holder_rows(memory.holders.values())
    lap("rows_s")
    return {"record_events": len(events), **times, "interval_rows": len(changes.inserts),
            "months": len(months), "record_rows": len(records), "holder_rows": len(holders)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--db", required=True, help="the SQLite file of stored events")
    parser.add_argument("--make", type=int, metavar="EVENTS",
                        help="store this many record events in a new --db file, then stop")
    parser.add_argument("--setup-only", action="store_true",
                        help="import and read the log only (the count to subtract)")
    parser.add_argument("--page", type=int, default=5000, help="events per folded page")
    args = parser.parse_args(argv)
    if args.make:
        make(args.db, args.make)
        return 0
    svc = Services.open(Settings(database_url=f"sqlite:///{args.db}"), create_tables=False)
    try:
        rows, position = [], 0
        while (read := next_rows(svc.log, position, args.page, TOPIC_LIST)) is not None:
            position, page = read
            rows.extend(page)
        gc.disable()  # as a folding process runs
        if args.setup_only:
            print(json.dumps({"stored_rows": len(rows), "setup_only": True}))
            return 0
        print(json.dumps({"command": " ".join(sys.argv), **work(svc, rows, args.page)}))
    finally:
        svc.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
