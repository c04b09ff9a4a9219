"""A deterministic, realistic mix of lifecycle events for benchmarks, appended straight to
the event store (bypassing HTTP and the lifecycle checks) so that a million events load in
minutes.

What makes it realistic (and what the first version lacked):
- events are recorded in business-date order across records, as a live registry records
  them, so a page of the log touches many records whose earlier events are already projected
  (not one record's whole history at a time);
- enterprises hold several records: holders are drawn from a per-county pool with a skew
  (a few large enterprises hold dozens of certificates, standards and awards), so the
  distinct-holder families do real work;
- every lifecycle type appears, including explicit expiry, international withdrawals,
  holder amendments, withdrawn standards and rejected/cancelled GIs;
- every record event is followed by its receipt (`envelope.accepted`), as every write
  through the application stores one; the projector reads and skips them.
"""

from __future__ import annotations

import datetime as dt
import random
import uuid
from typing import Any, Iterator

from eventsourcing.persistence import JSONTranscoder, Mapper

from events import (
    AwardGranted,
    AwardNominated,
    AwardRevoked,
    CertificationExpired,
    CertificationIssued,
    CertificationReinstated,
    CertificationRenewed,
    CertificationSuspended,
    CertificationWithdrawn,
    EnvelopeAccepted,
    GiApplied,
    GiCancelled,
    GiRegistered,
    GiRejected,
    InternationalCertificateIssued,
    InternationalCertificateWithdrawn,
    RecordAmended,
    RecordTransferred,
    RecordVoided,
    StandardDraftingApproved,
    StandardPublished,
    StandardRevised,
    StandardWithdrawn,
    receipt_id,
    record_id,
)
from events.text import make_uscc

ACTOR = {"id": "bench", "name": "bench loader", "role": "operator"}
START = dt.date(2016, 1, 1)
END = min(dt.date(2026, 6, 30), dt.date.today() - dt.timedelta(days=1))
HOLDER_SKEW = 1.5  # index = pool * random() ** skew: the top enterprise of a county ~1 %


def _holder(rng: random.Random, county: str, pool: int) -> dict:
    h = int(pool * rng.random() ** HOLDER_SKEW)
    return {"name": f"企业{county}-{h}", "uscc": make_uscc(f"91{county}{h:09d}")}


def record_plans(counties: list[str], events: int, seed: int = 7) -> list[tuple]:
    """Every record's events as light tuples `(day, n, version, cls, kind, key, tenant,
    data)`, about `events` of them, sorted into business-date order."""
    rng = random.Random(seed)
    pool = max(events // (8 * len(counties)), 5)
    span = (END - START).days
    plans: list[tuple] = []
    n = 0
    while len(plans) < events:
        n += 1
        tenant = counties[rng.randrange(len(counties))]
        holder = _holder(rng, tenant, pool)
        day = START + dt.timedelta(days=rng.randrange(span - 30))
        roll = rng.random()
        history: list[tuple] = []

        def add(cls, kind, key, **data):
            history.append((day, n, len(history) + 1, cls, kind, key, tenant, data))

        def later(max_days=500) -> bool:
            """Move on; False when that would pass the end of the data set."""
            nonlocal day
            day = day + dt.timedelta(days=rng.randrange(1, max_days))
            return day <= END

        if roll < 0.62:
            key = f"ZJM-{n:08d}"
            until = day + dt.timedelta(days=3 * 365)
            add(CertificationIssued, "certification", key, holder=holder, product="产品",
                standards=["T/ZZB 0001-2020"], valid_until=until)
            items = []
            for _ in range(rng.choice([0, 0, 0, 0, 1, 1, 2])):
                if not later(200):
                    break
                items.append(f"IQ-{n}-{len(items)}")
                add(InternationalCertificateIssued, "certification", key,
                    certificate_no=items[-1], partner="IQNet", country="DE")
            if items and rng.random() < 0.15 and later(200):
                add(InternationalCertificateWithdrawn, "certification", key,
                    certificate_no=items[0])
            r = rng.random()
            if r < 0.12 and later(300):
                add(CertificationSuspended, "certification", key, reason="抽查")
                if rng.random() < 0.6 and later(100):
                    add(CertificationReinstated, "certification", key)
            if 0.12 <= r < 0.40:
                renew_on = until - dt.timedelta(days=rng.randrange(10, 90))
                if day < renew_on <= END:
                    day = renew_on
                    until = until + dt.timedelta(days=3 * 365)
                    add(CertificationRenewed, "certification", key, valid_until=until)
            elif 0.40 <= r < 0.45 and later(300):
                add(CertificationWithdrawn, "certification", key, reason="注销")
            if rng.random() < 0.02 and later(200):
                target = counties[rng.randrange(len(counties))]
                if target != tenant:
                    add(RecordTransferred, "certification", key, to_tenant=target)
                    tenant = target
            if rng.random() < 0.04 and later(100):
                if rng.random() < 0.5:
                    holder = _holder(rng, tenant, pool)
                    changes = {"holder": holder}
                else:
                    changes = {"product": "产品(更正)"}
                add(RecordAmended, "certification", key, changes=changes, reason="更正")
            if r >= 0.45 and rng.random() < 0.1 and until < END and day < until:
                day = until + dt.timedelta(days=1)
                add(CertificationExpired, "certification", key)
            if rng.random() < 0.005 and later(100):
                add(RecordVoided, "certification", key, reason="录入错误")
        elif roll < 0.80:
            key = f"T/ZZB {n:06d}-{day.year}"
            add(StandardDraftingApproved, "standard", key, title="标准", lead=holder)
            if rng.random() < 0.8 and later(300):
                add(StandardPublished, "standard", key, title="标准", lead=None,
                    effective_on=day)
                if rng.random() < 0.1 and later(700):
                    add(StandardRevised, "standard", key, new_code=key + "R",
                        effective_on=day)
            if rng.random() < 0.05 and later(700):
                add(StandardWithdrawn, "standard", key, reason="废止")
        elif roll < 0.94:
            key = f"AW-{n:08d}"
            level = rng.choices(["national", "provincial", "city", "county"], [1, 5, 30, 64])[0]
            if rng.random() < 0.2:
                add(AwardGranted, "award", key, level=level, title="质量奖", year=day.year,
                    awardee=holder)
            else:
                add(AwardNominated, "award", key, level=level, title="质量奖", year=day.year,
                    awardee=holder)
                if rng.random() < 0.7 and later(200):
                    add(AwardGranted, "award", key, level=level, title="质量奖",
                        year=day.year, awardee=None)
            if history[-1][3] is AwardGranted and rng.random() < 0.03 and later(500):
                add(AwardRevoked, "award", key, reason="撤销")
        else:
            key = f"GI-{n:08d}"
            gi_type = rng.choice(["protected_product", "trademark", "agricultural_product"])
            add(GiApplied, "gi", key, gi_type=gi_type, name="地理标志", applicant=holder)
            r = rng.random()
            if r < 0.6 and later(400):
                add(GiRegistered, "gi", key, registration_no=f"R{n}", gi_type=None, name=None,
                    applicant=None)
                if rng.random() < 0.03 and later(1000):
                    add(GiCancelled, "gi", key, reason="撤销")
            elif r < 0.7 and later(400):
                add(GiRejected, "gi", key, reason="驳回")
        plans.extend(event for event in history if event[0] <= END)
    plans.sort(key=lambda p: (p[0], p[1], p[2]))
    return plans


def record_histories(counties: list[str], events: int, seed: int = 7,
                     receipts: bool = True) -> Iterator[object]:
    """The events in the order they are recorded (each followed by its receipt)."""
    for day, _, version, cls, kind, key, tenant, data in record_plans(counties, events, seed):
        rid = record_id(kind, key)
        envelope_id = uuid.uuid4()
        event = cls(originator_id=rid, originator_version=version,
                    timestamp=cls.create_timestamp(), envelope_id=envelope_id, kind=kind,
                    key=key, tenant=tenant, occurred_on=day, actor=ACTOR, **data)
        yield event
        if receipts:
            yield EnvelopeAccepted(
                originator_id=receipt_id(envelope_id), originator_version=1,
                timestamp=event.timestamp, fingerprint=envelope_id.hex, principal_id="bench",
                record_id=rid, kind=kind, key=key, version=version)


def load(log, counties: list[str], events: int, batch: int = 1000, progress=None,
         receipts: bool = True) -> int:
    """Append about `events` record events (plus receipts) in transactions of about
    `batch` stored events; return how many were stored."""
    pending: list = []
    stored = 0
    for event in record_histories(counties, events, receipts=receipts):
        pending.append(event)
        if len(pending) >= batch and (not receipts or isinstance(event, EnvelopeAccepted)):
            log.append(*pending)
            stored += len(pending)
            if progress:
                progress(stored)
            pending = []
    if pending:
        log.append(*pending)
        stored += len(pending)
    return stored


def library_mapper(log: Any) -> Mapper:
    """The library's own mapper for `log`'s stored events: its JSONTranscoder with the
    store's transcodings, as the library decodes them unaided (the store itself reads with
    orjson, events.transcoder): the baseline a benchmark's ratio is taken against."""
    transcoder = JSONTranscoder()
    for transcoding in log.mapper.transcoder.names.values():
        transcoder.register(transcoding)
    return Mapper(transcoder=transcoder)

