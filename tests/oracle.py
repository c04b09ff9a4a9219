"""Brute-force recomputation of counts straight from the event log, independent of the
projections: fold each record with the domain model and count what holds on the date."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from events import AWARD_LEVELS, GI_TYPES, STATES, RecordEvent
from registry.records import Record


def record_histories(log):
    histories = defaultdict(list)
    for positioned in log.read_all():
        if isinstance(positioned.event, RecordEvent):
            histories[positioned.event.originator_id].append(positioned)
    return histories


def oracle_counts(log, tree, codes, day: dt.date, known_at: dt.datetime | None = None):
    """{code: counts object} for the given tenants, as DESIGN.md defines them."""
    totals = {code: defaultdict(int) for code in codes}
    holders = {code: set() for code in codes}
    for history in record_histories(log).values():
        known = [p for p in history if known_at is None or p.event.timestamp <= known_at]
        if not known or any(p.event.TYPE == "record.voided" for p in known):
            continue
        latest = Record.replay(known)
        record = Record.replay(known, as_of=day)
        if record is None:
            continue
        status = record.status_on(day)
        targets = [c for c in tree.lineage(record.tenant) if c in totals]
        for code in targets:
            totals[code][f"{record.kind}.{status}"] += 1
            if record.kind == "award" and status == "granted":
                totals[code][f"award.granted_by_level.{record.attributes['level']}"] += 1
            if record.kind == "gi" and status == "registered":
                totals[code][f"gi.registered_by_type.{record.attributes['gi_type']}"] += 1
            if record.kind == "certification":
                if status == "valid":
                    holders[code].add(latest.holder()["uscc"])
                if status in ("valid", "suspended"):
                    totals[code]["international_certificate.held"] += sum(
                        1 for item in record.items.values() if item["withdrawn_on"] is None)
    result = {}
    for code in codes:
        t = totals[code]
        counts = {kind: {state: t[f"{kind}.{state}"] for state in states}
                  for kind, states in STATES.items()}
        counts["certification"]["holders_valid"] = len(holders[code])
        counts["international_certificate"] = {"held": t["international_certificate.held"]}
        counts["award"]["granted_by_level"] = {lv: t[f"award.granted_by_level.{lv}"]
                                               for lv in AWARD_LEVELS}
        counts["gi"]["registered_by_type"] = {g: t[f"gi.registered_by_type.{g}"]
                                              for g in GI_TYPES}
        result[code] = counts
    return result
