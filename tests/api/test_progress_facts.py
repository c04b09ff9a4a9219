"""One number per fact (issue 12): openings are facts of a tenant and a measure, read the same
by every plan, child table, series and CSV; unknown is an answer; rows add up; borrowed
targets keep their counting; finished plans are judged at their end."""

from __future__ import annotations

import csv
import io

import pytest

from tests.helpers import auth, holder, issued, post
from tests.api.test_progress import progress, standard


@pytest.fixture
def writers(token_for):
    return {"cb": token_for("certification-body", "330000"),
            "sb": token_for("standards-body", "330000"),
            "admin": token_for("admin", "330000")}


def certify(client, token, n, tenant, day, name="企业"):
    body = issued(f"PF-{tenant}-{n}", tenant=tenant, occurred_on=day, valid_until="2030-01-01",
                  holder_=holder(f"{name}{n}", tenant, 60000 + n))
    assert post(client, token, body).status_code == 201


def opening(client, token, code, measure, value, on, source="2020年统计年报"):
    response = client.post(f"/v1/tenants/{code}/openings", headers=auth(token), json={
        "measure": measure, "value": value, "on": on, "source": source})
    assert response.status_code == 201, response.json
    return response.json["opening"]


def csv_rows(client, token, code, plan, as_of):
    response = client.get(f"/v1/tenants/{code}/progress.csv", headers=auth(token),
                          query_string={"plan": plan, "as_of": as_of})
    assert response.status_code == 200
    return {r["key"]: r for r in csv.DictReader(io.StringIO(
        response.get_data(as_text=True).lstrip("\ufeff")))}


def test_the_same_fact_has_one_value_in_every_plan_child_row_series_and_csv(
        client, writers, plans_loaded, project):
    """Finding 2: an opening recorded under one plan used to count only in that plan."""
    admin = writers["admin"]
    response = client.post("/v1/plans/zhejiang-14th-fyp/openings", headers=auth(admin), json={
        "tenant": "330000", "indicator": "pinzibiao_enterprises", "value": 1500,
        "on": "2020-12-31", "note": "2020年统计年报"})
    assert response.status_code == 201, response.json
    opening(client, admin, "330500", "pinzibiao_enterprises", 200, "2020-12-31",
            "湖州市“十三五”品字标培育成果")
    for n, day in enumerate(["2021-03-01", "2022-03-01", "2023-03-01"]):
        certify(client, writers["cb"], n, "330523", day)
    certify(client, writers["cb"], 9, "330102", "2022-06-01")
    project()
    day = "2023-12-31"
    by_plan = {plan: progress(client, admin, "330000", plan, day)["pinzibiao_enterprises"]
               for plan in ("zhejiang-14th-fyp", "zhejiang-14th-fyp-text")}
    assert {row["value"] for row in by_plan.values()} == {1500 + 4}
    huzhou_own = {plan: progress(client, admin, "330500", plan, day)["pinzibiao_enterprises"]
                  for plan in ("huzhou-14th-fyp", "huzhou-14th-fyp-text", "zhejiang-14th-fyp")}
    assert {row["value"] for row in huzhou_own.values()} == {200 + 3}
    child = next(c for c in by_plan["zhejiang-14th-fyp"]["children"]
                 if c["tenant"]["code"] == "330500")
    assert child["value"] == 203
    assert csv_rows(client, admin, "330500", "huzhou-14th-fyp-text", day)[
        "pinzibiao_enterprises"]["value"] == "203"
    series = client.get("/v1/tenants/330500/progress/series", headers=auth(admin),
                        query_string={"plan": "huzhou-14th-fyp", "as_of": day}).json
    points = next(i for i in series["indicators"] if i["key"] == "pinzibiao_enterprises")
    assert points["points"][-1] == {**points["points"][-1], "date": day, "value": 203}


def test_a_value_before_the_first_opening_is_unknown_never_projected_backwards(
        client, writers, plans_loaded, project):
    """Finding 3: an opening of 2,400 standards on 2024-06-30 used to give 1,493 'new
    standards' at 2021-12-31."""
    admin = writers["admin"]
    opening(client, admin, "330000", "zhejiang_made_standards_new", 2400, "2024-06-30")
    assert post(client, writers["sb"], standard("T/ZZB UK1-2021", "330523",
                                                "2021-05-01")).status_code == 201
    project()
    early = progress(client, admin, "330000", "zhejiang-14th-fyp", "2021-12-31")
    row = early["zhejiang_made_standards_new"]
    assert (row["value"], row["status"], row["reason"]) == (None, "unknown", "before_opening")
    assert row["achievement"] is None and row["unallocated"] is None
    huzhou = next(c for c in row["children"] if c["tenant"]["code"] == "330500")
    assert huzhou["value"] == 1  # no opening below the province: the child is known
    assert csv_rows(client, admin, "330000", "zhejiang-14th-fyp", "2021-12-31")[
        "zhejiang_made_standards_new"]["value"] == ""
    series = client.get("/v1/tenants/330000/progress/series", headers=auth(admin),
                        query_string={"plan": "zhejiang-14th-fyp", "as_of": "2024-12-31"}).json
    points = next(i for i in series["indicators"]
                  if i["key"] == "zhejiang_made_standards_new")["points"]
    assert [(p["date"], p["value"]) for p in points] == [
        ("2021-12-31", None), ("2022-12-31", None), ("2023-12-31", None),
        ("2024-12-31", 2400 + 0 - 1979)]


def test_a_new_count_without_a_stock_at_the_period_start_is_unknown(client, writers,
                                                                    plans_loaded, project):
    admin = writers["admin"]
    opening(client, admin, "330500", "zhejiang_made_standards_new", 250, "2022-06-30")
    project()
    row = progress(client, admin, "330500", "huzhou-14th-fyp", "2023-06-30")[
        "zhejiang_made_standards_new"]
    assert (row["value"], row["status"], row["reason"]) == (
        None, "unknown", "no_stock_at_period_start")


def test_a_borrowed_target_is_judged_with_the_counting_of_its_own_plan(
        client, writers, plans_loaded, project):
    """Finding 4: Pingyang's 20 new 品字标 enterprises were judged as a cumulative 33/20."""
    for n in range(23):
        certify(client, writers["cb"], n, "330326", f"{2016 + n % 5}-04-01", "平阳老企业")
    for n in range(10):
        certify(client, writers["cb"], 100 + n, "330326", f"{2021 + n % 3}-04-01", "平阳新企业")
    project()
    admin = writers["admin"]
    own = progress(client, admin, "330326", "pingyang-14th-fyp", "2024-06-30")[
        "pinzibiao_enterprises"]
    borrowed = progress(client, admin, "330326", "zhejiang-14th-fyp", "2024-06-30")[
        "pinzibiao_enterprises"]
    for row in (own, borrowed):
        assert (row["value"], row["counting"], row["status"]) == (10, "new", "behind")
        assert row["target"]["value"] == 20
        assert row["target"]["source"] == {"plan": "pingyang-14th-fyp",
                                           "indicator": "pinzibiao_enterprises",
                                           "counting": "new"}
        assert row["baseline"]["value"] == 0 and 0 < row["expected"] < 20
    wenzhou = progress(client, admin, "330300", "zhejiang-14th-fyp", "2024-06-30")[
        "pinzibiao_enterprises"]
    pingyang = next(c for c in wenzhou["children"] if c["tenant"]["code"] == "330326")
    assert pingyang["value"] == 33  # the row's own (cumulative) counting, so rows add up
    assert pingyang["evaluated"]["value"] == 10 and pingyang["status"] == "behind"


def test_rows_add_up_with_the_part_not_allocated_to_children(client, writers, plans_loaded,
                                                             project):
    """Finding 5: the province's opening is not broken down, and the row says so."""
    admin = writers["admin"]
    opening(client, admin, "330000", "pinzibiao_enterprises", 1500, "2020-12-31")
    certify(client, writers["cb"], 1, "330523", "2019-05-01")
    certify(client, writers["cb"], 2, "330102", "2022-05-01")
    project()
    row = progress(client, admin, "330000", "zhejiang-14th-fyp", "2023-06-30")[
        "pinzibiao_enterprises"]
    children = sum(c["value"] for c in row["children"])
    assert children == 2 and row["value"] == 1500 - 1 + 2
    assert row["unallocated"] == row["value"] - children == 1499


def test_a_finished_plan_is_judged_at_its_end_beside_its_reported_results(
        client, writers, plans_loaded, project):
    """Finding 6: the 13th-plan completion tables used to show 'behind'."""
    for n in range(12):
        assert post(client, writers["sb"], standard(f"T/ZZB FP{n}-2018", "330523",
                                                    f"{2016 + n % 5}-03-01")).status_code == 201
    project()
    rows = progress(client, writers["admin"], "330000", "zhejiang-13th-fyp-completion",
                    "2023-06-30")
    tracked = [r for r in rows.values() if r["status"] != "not_tracked"]
    assert tracked and {r["status"] for r in tracked} <= {"achieved", "missed", "unknown",
                                                          "no_target"}
    standards = rows["zhejiang_made_standards_new"]
    assert standards["judged_on"] == "2020-12-31"
    assert standards["actual_reported"]["value"] == 1935
    assert standards["value"] == 12 and standards["difference"] == 12 - 1935
    assert standards["status"] == "missed"
    rate = rows["agri_product_quality_safety_pass_rate"]
    assert rate["status"] == "not_tracked" and rate["actual_reported"]["raw"] == "98以上"


def test_a_yearly_target_is_compared_with_the_years_value(client, writers, token_for,
                                                         plans_loaded, project):
    huzhou = token_for("admin", "330500")
    response = client.post("/v1/plans/huzhou-14th-fyp/targets", headers=auth(huzhou), json={
        "tenant": "330523", "indicator": "zhejiang_made_standards_new",
        "target": {"value": 4, "per": "year"}, "reason": "每年新增4项"})
    assert response.status_code == 201, response.json
    for n, day in enumerate(["2021-03-01", "2021-04-01", "2022-02-01", "2023-03-01",
                             "2023-05-01", "2023-06-01"]):
        assert post(client, writers["sb"], standard(f"T/ZZB Y{n}-2021", "330523",
                                                    day)).status_code == 201
    project()
    row = progress(client, huzhou, "330523", "huzhou-14th-fyp", "2023-12-31")[
        "zhejiang_made_standards_new"]
    assert row["value"] == 3 and row["period"] == {"start": "2023-01-01", "end": "2023-12-31"}
    assert row["expected"] == 4 and row["status"] == "behind"


def test_tenant_openings_are_recorded_by_admins_and_listed_within_the_subtree(
        client, writers, token_for, plans_loaded):
    huzhou = token_for("admin", "330500")
    recorded = opening(client, huzhou, "330523", "pinzibiao_enterprises", 30, "2020-12-31",
                       "安吉县2020年统计公报")
    assert recorded["recorded_by"]["role"] == "admin" and recorded["measure"] == (
        "pinzibiao_enterprises")
    listed = client.get("/v1/tenants/330500/openings", headers=auth(huzhou)).json["openings"]
    assert [(o["tenant"], o["value"], o["source"]) for o in listed] == [
        ("330523", 30, "安吉县2020年统计公报")]
    sibling = token_for("admin", "330522")
    assert client.get("/v1/tenants/330523/openings", headers=auth(sibling)).status_code == 403
    assert client.get("/v1/tenants/330522/openings",
                      headers=auth(sibling)).json["openings"] == []
    body = {"measure": "pinzibiao_enterprises", "value": 1, "on": "2020-12-31", "source": "x"}
    for token, status in ((sibling, 403), (token_for("auditor", "330500"), 403),
                          (token_for("certification-body", "330500"), 403)):
        assert client.post("/v1/tenants/330523/openings", json=body,
                           headers=auth(token)).status_code == status
    for bad, field in (({"measure": "nope"}, "measure"), ({"on": "2999-01-01"}, "on"),
                       ({"value": 1.5}, "value"), ({"source": ""}, "source")):
        response = client.post("/v1/tenants/330523/openings", json={**body, **bad},
                               headers=auth(huzhou))
        assert response.status_code == 422 and field in response.json["errors"], response.json
