"""A deterministic, realistic mix of lifecycle events for benchmarks, appended straight to
the event store (bypassing HTTP) so that a million events load in minutes."""

from __future__ import annotations

import datetime as dt
import random
import uuid
from typing import Iterator

from events import (
    AwardGranted,
    AwardNominated,
    AwardRevoked,
    CertificationIssued,
    CertificationReinstated,
    CertificationRenewed,
    CertificationSuspended,
    CertificationWithdrawn,
    GiApplied,
    GiRegistered,
    InternationalCertificateIssued,
    RecordAmended,
    RecordTransferred,
    RecordVoided,
    StandardDraftingApproved,
    StandardPublished,
    StandardRevised,
    record_id,
)
from events.text import make_uscc

ACTOR = {"id": "bench", "name": "bench loader", "role": "operator"}
START = dt.date(2016, 1, 1)
END = dt.date(2026, 6, 30)


def _event(cls, kind, key, tenant, version, day, **data):
    return cls(originator_id=record_id(kind, key), originator_version=version,
               timestamp=cls.create_timestamp(), envelope_id=uuid.uuid4(), kind=kind, key=key,
               tenant=tenant, occurred_on=day, actor=ACTOR, **data)


def record_histories(counties: list[str], events: int, seed: int = 7) -> Iterator[list]:
    """Yield one record's events at a time until about `events` events were produced."""
    rng = random.Random(seed)
    holders = max(events // 8, 10)
    span = (END - START).days
    produced = n = 0
    while produced < events:
        n += 1
        tenant = counties[rng.randrange(len(counties))]
        h = rng.randrange(holders)
        holder = {"name": f"企业{h}", "uscc": make_uscc(f"91{tenant}{h:09d}")}
        day = START + dt.timedelta(days=rng.randrange(span - 400))
        roll = rng.random()
        history: list = []

        def add(cls, kind, key, **data):
            nonlocal day
            history.append(_event(cls, kind, key, tenant, len(history) + 1, day, **data))

        def later(max_days=500):
            nonlocal day
            day = min(day + dt.timedelta(days=rng.randrange(1, max_days)), END)

        if roll < 0.65:
            key = f"ZJM-{n:08d}"
            until = day + dt.timedelta(days=3 * 365)
            add(CertificationIssued, "certification", key, holder=holder, product="产品",
                standards=["T/ZZB 0001-2020"], valid_until=until)
            if rng.random() < 0.3:
                later(200)
                add(InternationalCertificateIssued, "certification", key,
                    certificate_no=f"IQ-{n}", partner="IQNet", country="DE")
            r = rng.random()
            if r < 0.15:
                later(300)
                add(CertificationSuspended, "certification", key, reason="抽查")
                if rng.random() < 0.5:
                    later(100)
                    add(CertificationReinstated, "certification", key)
            elif r < 0.30:
                later(300)
                add(CertificationRenewed, "certification", key,
                    valid_until=until + dt.timedelta(days=3 * 365))
            elif r < 0.35:
                later(300)
                add(CertificationWithdrawn, "certification", key, reason="注销")
            if rng.random() < 0.02:
                later(200)
                target = counties[rng.randrange(len(counties))]
                if target != tenant:
                    add(RecordTransferred, "certification", key, to_tenant=target)
                    tenant = target
            if rng.random() < 0.03:
                later(100)
                add(RecordAmended, "certification", key, changes={"product": "产品(更正)"},
                    reason="更正")
            if rng.random() < 0.005:
                later(100)
                add(RecordVoided, "certification", key, reason="录入错误")
        elif roll < 0.82:
            key = f"T/ZZB {n:06d}-{day.year}"
            add(StandardDraftingApproved, "standard", key, title="标准", lead=holder)
            if rng.random() < 0.8:
                later(300)
                add(StandardPublished, "standard", key, title="标准", lead=None,
                    effective_on=day)
                if rng.random() < 0.1:
                    later(700)
                    add(StandardRevised, "standard", key, new_code=key + "R",
                        effective_on=day)
        elif roll < 0.95:
            key = f"AW-{n:08d}"
            level = rng.choices(["national", "provincial", "city", "county"],
                                [1, 5, 30, 64])[0]
            add(AwardNominated, "award", key, level=level, title="质量奖", year=day.year,
                awardee=holder)
            if rng.random() < 0.7:
                later(200)
                add(AwardGranted, "award", key, level=level, title="质量奖", year=day.year,
                    awardee=None)
                if rng.random() < 0.03:
                    later(500)
                    add(AwardRevoked, "award", key, reason="撤销")
        else:
            key = f"GI-{n:08d}"
            gi_type = rng.choice(["protected_product", "trademark", "agricultural_product"])
            add(GiApplied, "gi", key, gi_type=gi_type, name="地理标志", applicant=holder)
            if rng.random() < 0.6:
                later(400)
                add(GiRegistered, "gi", key, registration_no=f"R{n}", gi_type=None, name=None,
                    applicant=None)
        produced += len(history)
        yield history


def load(log, counties: list[str], events: int, batch: int = 1000, progress=None) -> int:
    """Append about `events` events in transactions of about `batch` events."""
    pending: list = []
    stored = 0
    for history in record_histories(counties, events):
        pending.extend(history)
        if len(pending) >= batch:
            log.append(*pending)
            stored += len(pending)
            if progress:
                progress(stored)
            pending = []
    if pending:
        log.append(*pending)
        stored += len(pending)
    return stored
