"""Property (issue 12): for random histories, openings and dates, the same (tenant, measure,
counting, period, date) has one value in every plan's rows, child rows, judgements of
borrowed targets, series and CSV; and every row equals the sum of its children plus its
unallocated part."""

from __future__ import annotations

import csv
import datetime as dt
import io
import itertools
from collections import defaultdict

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from tests.helpers import auth
from tests.integration.test_counts_property import play, record_plan, tokens  # noqa: F401

TENANTS = ["330000", "330500", "330326"]
OPENED = ["330000", "330500", "330523", "330300", "330326"]
MEASURES = ["pinzibiao_enterprises", "zhejiang_made_standards_new",
            "international_certificates_held", "china_provincial_quality_award_winners"]
BASE = dt.date(2019, 1, 1)
opening = st.tuples(st.sampled_from(OPENED), st.sampled_from(MEASURES),
                    st.integers(0, 3000), st.integers(0, 2400))
EXAMPLES = itertools.count()


def key_of(tenant: str, row_or_entry: dict, judged_on: str) -> tuple:
    period = row_or_entry.get("period") or {}
    return (tenant, row_or_entry["measure"], row_or_entry["counting"], period.get("start"),
            period.get("end"), judged_on)


@settings(max_examples=8, deadline=None, derandomize=True,
          phases=(Phase.explicit, Phase.reuse, Phase.generate),
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.data_too_large])
@given(plans=st.lists(record_plan, min_size=1, max_size=5),
       openings=st.lists(opening, max_size=5),
       offset=st.integers(700, 2500))
def test_one_value_per_fact_and_rows_add_up(client, tokens, services, plans_loaded,  # noqa: F811
                                            project, plans, openings, offset):
    admin = tokens["admin"]
    play(client, tokens, services, plans, prefix=f"Q{next(EXAMPLES)}")
    for tenant, measure, value, days in openings:
        on = min(BASE + dt.timedelta(days=days), dt.date.today())
        response = client.post(f"/v1/tenants/{tenant}/openings", headers=auth(admin), json={
            "measure": measure, "value": value, "on": on.isoformat(), "source": "性质测试"})
        assert response.status_code == 201, response.json
    project()
    day = (BASE + dt.timedelta(days=offset)).isoformat()
    seen: dict[tuple, set] = defaultdict(set)
    plan_ids = [p["id"] for p in client.get("/v1/plans", headers=auth(admin)).json["plans"]]
    for plan in plan_ids:
        for tenant in TENANTS:
            query = {"plan": plan, "as_of": day}
            body = client.get(f"/v1/tenants/{tenant}/progress", query_string=query,
                              headers=auth(admin)).json
            for row in body["indicators"]:
                if row["status"] == "not_tracked":
                    continue
                judged = row["judged_on"]
                seen[key_of(tenant, row, judged)].add(row["value"])
                values = [c["value"] for c in row["children"]]
                for child in row["children"]:
                    code = child["tenant"]["code"]
                    seen[key_of(code, row, judged)].add(child["value"])
                    if child["evaluated"]:
                        seen[key_of(code, child["evaluated"], judged)].add(
                            child["evaluated"]["value"])
                if row["children"] and row["value"] is not None and None not in values:
                    assert row["value"] == sum(values) + row["unallocated"], (plan, tenant, row)
                else:
                    assert row["unallocated"] is None
            if tenant == "330500":
                text = client.get(f"/v1/tenants/{tenant}/progress.csv", query_string=query,
                                  headers=auth(admin)).get_data(as_text=True)
                for line in csv.DictReader(io.StringIO(text.lstrip("\ufeff"))):
                    row = next(r for r in body["indicators"] if r["key"] == line["key"])
                    expected = "" if row["value"] is None else str(row["value"])
                    assert line["value"] == expected
                series = client.get(f"/v1/tenants/{tenant}/progress/series",
                                    query_string=query, headers=auth(admin)).json
                for entry in series["indicators"]:
                    for point in entry["points"]:
                        if point["date"] == day and entry.get("measure"):
                            seen[key_of(tenant, entry, day)].add(point["value"])
    clashes = {k: v for k, v in seen.items() if len(v) > 1}
    assert not clashes, clashes
