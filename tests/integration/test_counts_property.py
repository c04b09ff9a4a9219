"""Property: for random valid histories across tenants, the counts endpoint equals a
brute-force recomputation from the event log, for random dates and recorded times."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from events import RecordEvent, record_id
from events import allowed_types
from registry.records import Record
from tests.helpers import auth, envelope, holder, post
from tests.oracle import oracle_counts

TENANTS = ["330523", "330522", "330106", "330326", "330000"]
BASE = dt.date(2019, 1, 1)
TODAY = dt.date.today()
HOLDERS = [holder(f"企业{i}", "330523", 900 + i) for i in range(5)]

step = st.tuples(st.integers(0, 40), st.integers(0, 400), st.integers(0, 10**6))
record_plan = st.tuples(st.sampled_from(["certification", "standard", "award", "gi"]),
                        st.sampled_from(TENANTS), st.lists(step, min_size=1, max_size=6))


def first_envelope(kind, key, tenant, day, choice):
    h = HOLDERS[choice % len(HOLDERS)]
    if kind == "certification":
        return envelope("certification.issued", key, day.isoformat(), {
            "holder": h, "product": "p", "standards": [],
            "valid_until": (day + dt.timedelta(days=200 + choice % 900)).isoformat()},
            tenant=tenant)
    if kind == "standard":
        if choice % 2:
            return envelope("standard.published", key, day.isoformat(), {
                "title": "t", "lead": h, "effective_on": day.isoformat()}, tenant=tenant)
        return envelope("standard.drafting_approved", key, day.isoformat(),
                        {"title": "t", "lead": h}, tenant=tenant)
    if kind == "award":
        level = ["national", "provincial", "city", "county"][choice % 4]
        kind_type = "award.granted" if choice % 3 else "award.nominated"
        return envelope(kind_type, key, day.isoformat(), {
            "level": level, "title": "t", "year": day.year, "awardee": h}, tenant=tenant)
    gi_type = ["protected_product", "trademark", "agricultural_product"][choice % 3]
    if choice % 2:
        return envelope("gi.registered", key, day.isoformat(), {
            "registration_no": key, "gi_type": gi_type, "name": "n", "applicant": h},
            tenant=tenant)
    return envelope("gi.applied", key, day.isoformat(),
                    {"gi_type": gi_type, "name": "n", "applicant": h}, tenant=tenant)


def next_envelope(kind, key, record, day, pick, choice):
    options = [t for t in allowed_types(kind, record.status_on(day))
               if t not in ("certification.issued",)]
    type_ = options[pick % len(options)]
    data = {}
    if type_ == "certification.renewed":
        data = {"valid_until": (record.attributes["valid_until"]
                                + dt.timedelta(days=30 + choice % 700)).isoformat()}
    elif type_ in ("certification.suspended", "certification.withdrawn", "standard.withdrawn",
                   "award.revoked", "gi.rejected", "gi.cancelled", "record.voided"):
        data = {"reason": "r"}
    elif type_ == "certification.international_issued":
        data = {"certificate_no": f"N{choice % 3}", "partner": "IQNet", "country": "DE"}
    elif type_ == "certification.international_withdrawn":
        data = {"certificate_no": f"N{choice % 3}"}
    elif type_ == "standard.published":
        data = {"title": "t", "effective_on": day.isoformat()}
    elif type_ == "standard.revised":
        data = {"new_code": f"{key}-R{choice}", "effective_on": day.isoformat()}
    elif type_ == "award.granted":
        data = {"level": record.attributes["level"], "title": "t", "year": day.year}
    elif type_ == "gi.registered":
        data = {"registration_no": f"R{choice}"}
    elif type_ == "record.amended":
        field = {"certification": "holder", "standard": "lead", "award": "awardee",
                 "gi": "applicant"}[kind]
        data = {"changes": {field: HOLDERS[choice % len(HOLDERS)]}, "reason": "r"}
    elif type_ == "record.transferred":
        data = {"to_tenant": TENANTS[choice % 4]}
    extra = {"kind": kind} if type_.startswith("record.") else {}
    return envelope(type_, key, day.isoformat(), data, **extra)


def writer_for(type_: str, tokens: dict) -> str:
    return tokens["cb"] if type_.startswith("certification.") else tokens["admin"]


def play(client, tokens, services, plans, prefix):
    """Post each planned history; invalid choices are refused by the API and not stored."""
    for n, (kind, tenant, steps) in enumerate(plans):
        key = f"{prefix}-{n}"
        day = BASE + dt.timedelta(days=steps[0][1] * 3)
        body = first_envelope(kind, key, tenant, day, steps[0][2])
        assert post(client, writer_for(body["type"], tokens), body).status_code == 201
        for pick, gap, choice in steps[1:]:
            day = day + dt.timedelta(days=gap)
            record = Record.replay(services.log.history(record_id(kind, key)))
            if record.voided or day > TODAY:
                break
            body = next_envelope(kind, key, record, day, pick, choice)
            response = post(client, writer_for(body["type"], tokens), body)
            assert response.status_code in (201, 409, 422), response.json


EXAMPLES = itertools.count()
# Shrinking a failing history can take many minutes; CI reports the unshrunk example.
NO_SHRINK = (Phase.explicit, Phase.reuse, Phase.generate)


@settings(max_examples=12, deadline=None, derandomize=True, phases=NO_SHRINK,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.data_too_large])
@given(plans=st.lists(record_plan, min_size=1, max_size=6),
       days=st.lists(st.integers(0, 3000), min_size=3, max_size=3),
       cut=st.floats(0, 1))
def test_counts_equal_a_brute_force_recomputation(client, tokens, services, project, plans,
                                                  days, cut):
    play(client, tokens, services, plans, prefix=f"P{next(EXAMPLES)}")
    project()
    stamps = sorted(p.event.timestamp for p in services.log.read_all()
                    if isinstance(p.event, RecordEvent))
    known_at = stamps[int(cut * (len(stamps) - 1))]
    tree = services.directory.tree()
    for offset in days:
        day = BASE + dt.timedelta(days=offset)
        for code in ("330000", "330500"):
            for when in (None, known_at):
                params = {"as_of": day.isoformat()}
                if when is not None:
                    params["known_at"] = when.isoformat()
                body = client.get(f"/v1/tenants/{code}/counts", query_string=params,
                                  headers=auth(tokens["admin"])).json
                codes = [code] + [c["tenant"]["code"] for c in body["children"]]
                expected = oracle_counts(services.log, tree, codes, day, when)
                assert body["counts"] == expected[code], (code, day, when)
                for child in body["children"]:
                    assert child["counts"] == expected[child["tenant"]["code"]], (day, when)


@pytest.fixture
def tokens(token_for):
    """One certification body and one admin for the whole province, shared by examples."""
    return {"cb": token_for("certification-body", "330000"), "admin": token_for("admin", "330000")}
