"""Plan progress from events posted through the API (DESIGN.md 5, issue 4)."""

from __future__ import annotations

import csv
import io

import pytest

from tests.helpers import auth, envelope, holder, issued, post


@pytest.fixture
def writers(token_for):
    return {"cb": token_for("certification-body", "330000"), "sb": token_for("standards-body",
                                                                             "330000"),
            "admin": token_for("admin", "330000")}


def progress(client, token, code, plan, as_of, **params):
    response = client.get(f"/v1/tenants/{code}/progress",
                          query_string={"plan": plan, "as_of": as_of, **params},
                          headers=auth(token))
    assert response.status_code == 200, response.json
    return {row["key"]: row for row in response.json["indicators"]}


def standard(key, tenant, day, lead=None):
    return envelope("standard.published", key, day, {
        "title": "标准", "lead": lead or holder(region=tenant), "effective_on": day},
        tenant=tenant)


def award(key, tenant, day, level, awardee=None):
    return envelope("award.granted", key, day, {"level": level, "title": "质量奖",
                                                "year": int(day[:4]),
                                                "awardee": awardee or holder(region=tenant)},
                    tenant=tenant)


def test_pingyangs_13th_plan_completion_is_reproduced(client, writers, plans_loaded, project):
    """Pingyang's completion table: standards 15 against 10, 浙江制造 certified enterprises
    55 against 30, city awards 2 against 1, national/provincial awards 0 against 1."""
    for n in range(15):
        assert post(client, writers["sb"], standard(f"T/ZZB PY{n:02d}-2018", "330326",
                                                    f"{2016 + n % 5}-03-01")).status_code == 201
    for n in range(55):
        body = issued(f"PY-{n:03d}", tenant="330326", occurred_on=f"{2016 + n % 5}-05-01",
                      valid_until="2030-01-01", holder_=holder(f"平阳企业{n}", "330326", 5000 + n))
        assert post(client, writers["cb"], body).status_code == 201
    for n in range(2):
        assert post(client, writers["admin"], award(f"WZ-{n}", "330326", "2019-11-01",
                                                    "city")).status_code == 201
    # an enterprise certified before the period is not a new certified enterprise of it
    early = holder("平阳老企业", "330326", 4999)
    assert post(client, writers["cb"], issued("PY-OLD", tenant="330326", holder_=early,
                                              occurred_on="2015-06-01",
                                              valid_until="2030-01-01")).status_code == 201
    assert post(client, writers["cb"], issued("PY-OLD-2", tenant="330326", holder_=early,
                                              occurred_on="2018-06-01",
                                              valid_until="2030-01-01")).status_code == 201
    project()
    rows = progress(client, writers["admin"], "330326", "pingyang-13th-fyp-completion",
                    "2020-12-31")
    standards, certified = rows["zhejiang_made_standards_new"], rows[
        "zhejiang_made_certified_enterprises"]
    assert (standards["value"], standards["target"]["value"], standards["status"]) == (
        15, 10, "achieved")
    assert (certified["value"], certified["target"]["value"], certified["status"]) == (
        55, 30, "achieved")
    assert certified["form"] == "in_period" and certified["achievement"] == round(55 / 30, 4)
    assert (rows["city_quality_award_enterprises"]["value"],
            rows["city_quality_award_enterprises"]["status"]) == (2, "achieved")
    assert (rows["china_provincial_quality_award_winners"]["value"],
            rows["china_provincial_quality_award_winners"]["status"]) == (0, "missed")
    assert rows["manufacturing_product_quality_pass_rate"]["status"] == "not_tracked"
    assert rows["manufacturing_product_quality_pass_rate"]["value"] is None
    assert "rate" in rows["manufacturing_product_quality_pass_rate"]["reason"]


def test_counting_forms_ever_in_period_and_held(client, writers, plans_loaded, project):
    cb = writers["cb"]
    assert post(client, cb, issued("F-1", occurred_on="2019-01-01",
                                   valid_until="2030-01-01")).status_code == 201
    assert post(client, cb, issued("F-2", occurred_on="2022-01-01", valid_until="2030-01-01",
                                   holder_=holder("另一企业", n=8001))).status_code == 201
    for n, cert in enumerate(("F-1", "F-2")):
        assert post(client, cb, envelope("certification.international_issued", cert,
                                         "2022-06-01", {"certificate_no": f"I{n}",
                                                        "partner": "IQNet",
                                                        "country": "FR"})).status_code == 201
    assert post(client, cb, envelope("certification.international_withdrawn", "F-1",
                                     "2023-06-01", {"certificate_no": "I0"})).status_code == 201
    project()
    rows = progress(client, writers["admin"], "330000", "zhejiang-14th-fyp", "2024-12-31")
    assert rows["pinzibiao_enterprises"]["form"] == "ever"
    assert rows["pinzibiao_enterprises"]["registry_value"] == 2
    assert rows["international_certificates_held"]["form"] == "held"
    assert rows["international_certificates_held"]["registry_value"] == 1
    text = progress(client, writers["admin"], "330000", "zhejiang-14th-fyp-text", "2024-12-31")
    assert text["pinzibiao_enterprises"]["value"] == 2
    huzhou_text = progress(client, writers["admin"], "330500", "huzhou-14th-fyp-text",
                           "2024-12-31")
    assert huzhou_text["pinzibiao_international_certified_enterprises"]["form"] == "in_period"
    assert huzhou_text["pinzibiao_international_certified_enterprises"]["value"] == 2


def test_one_enterprise_with_three_certificates_counts_once(client, writers, plans_loaded,
                                                           project):
    enterprise = holder("三证企业", n=8100)
    for n in range(3):
        assert post(client, writers["cb"], issued(f"D-{n}", holder_=enterprise,
                                                  occurred_on=f"202{1 + n}-03-01",
                                                  valid_until="2030-01-01")).status_code == 201
    project()
    rows = progress(client, writers["admin"], "330500", "huzhou-14th-fyp", "2024-12-31")
    assert rows["pinzibiao_enterprises"]["registry_value"] == 1


def test_a_revoked_award_leaves_the_cumulative_count(client, writers, plans_loaded, project):
    admin = writers["admin"]
    for n in range(2):
        assert post(client, admin, award(f"R-{n}", "330523", "2021-10-01",
                                         "provincial")).status_code == 201
    assert post(client, admin, envelope("award.revoked", "R-1", "2023-03-01",
                                        {"reason": "撤销"})).status_code == 201
    project()
    before = progress(client, admin, "330000", "zhejiang-14th-fyp", "2023-02-28")
    after = progress(client, admin, "330000", "zhejiang-14th-fyp", "2023-03-01")
    key = "china_provincial_quality_award_winners"
    assert (before[key]["registry_value"], after[key]["registry_value"]) == (2, 1)


def test_an_opening_at_the_province_plus_events_in_two_counties(client, writers, plans_loaded,
                                                                project):
    """An opening is a stock: 2,100 standards on 2022-06-30 (the registry knew 2). The new
    count of 2021-2025 starts from the stock of 1,979 the provincial text plan prints for
    end-2020, since the eve of the period is before the opening."""
    admin = writers["admin"]
    response = client.post("/v1/plans/zhejiang-14th-fyp/openings", headers=auth(admin), json={
        "tenant": "330000", "indicator": "zhejiang_made_standards_new", "value": 2100,
        "on": "2022-06-30", "note": "registry started mid-plan"})
    assert response.status_code == 201, response.json
    days = ["2021-05-01", "2022-03-01", "2023-01-10", "2023-05-01"]
    for n, (tenant, day) in enumerate(zip(["330523", "330326", "330523", "330326"], days)):
        assert post(client, writers["sb"], standard(f"T/ZZB OP{n}-2022", tenant,
                                                    day)).status_code == 201
    project()
    rows = progress(client, admin, "330000", "zhejiang-14th-fyp", "2024-01-01")
    row = rows["zhejiang_made_standards_new"]
    # 2,100 recorded when the registry knew 2, plus the 2 published since, minus 1,979
    assert (row["value"], row["registry_value"]) == (2100 + 2 - 1979, 4)
    assert row["opening"]["source"] == "own" and row["opening"]["value"] == 2100
    assert row["stock"] == {"value": 1979, "year": 2020, "plan": "zhejiang-14th-fyp-text"}
    huzhou = next(c for c in row["children"] if c["tenant"]["code"] == "330500")
    assert huzhou["value"] == 2


def test_a_city_without_opening_adds_its_counties_adjustments(client, writers, plans_loaded,
                                                             project):
    admin = writers["admin"]
    for tenant, value in (("330523", 10), ("330522", 5)):
        assert client.post("/v1/plans/huzhou-14th-fyp/openings", headers=auth(admin), json={
            "tenant": tenant, "indicator": "pinzibiao_enterprises", "value": value,
            "on": "2021-12-31"}).status_code == 201
    assert post(client, writers["cb"], issued("N-1", tenant="330523", occurred_on="2022-05-01",
                                              valid_until="2030-01-01",
                                              holder_=holder(n=8200))).status_code == 201
    assert post(client, writers["cb"], issued("N-2", tenant="330502", occurred_on="2022-05-01",
                                              valid_until="2030-01-01",
                                              holder_=holder(n=8201))).status_code == 201
    project()
    rows = progress(client, admin, "330500", "huzhou-14th-fyp", "2023-01-01")
    row = rows["pinzibiao_enterprises"]
    assert row["opening"]["source"] == "descendants"
    assert row["value"] == 10 + 5 + 2  # both openings, plus the two certified since
    anji = next(c for c in row["children"] if c["tenant"]["code"] == "330523")
    assert anji["value"] == 11


def test_a_transfer_between_counties_moves_cumulative_counts(client, writers, plans_loaded,
                                                             project):
    assert post(client, writers["sb"], standard("T/ZZB TR-2021", "330523",
                                                 "2021-04-01")).status_code == 201
    assert post(client, writers["admin"], envelope("record.transferred", "T/ZZB TR-2021",
                                                   "2022-04-01", {"to_tenant": "330522"},
                                                   kind="standard")).status_code == 201
    project()
    for day, anji, changxing in (("2022-03-31", 1, 0), ("2022-04-01", 0, 1)):
        rows = progress(client, writers["admin"], "330500", "huzhou-14th-fyp", day)
        children = {c["tenant"]["code"]: c["value"]
                    for c in rows["zhejiang_made_standards_new"]["children"]}
        assert (children["330523"], children["330522"]) == (anji, changxing)
        assert rows["zhejiang_made_standards_new"]["value"] == 1


def test_a_voided_record_counts_nowhere(client, writers, plans_loaded, project):
    assert post(client, writers["sb"], standard("T/ZZB V-2021", "330523",
                                                "2021-04-01")).status_code == 201
    assert post(client, writers["admin"], envelope("record.voided", "T/ZZB V-2021", "2022-01-01",
                                                   {"reason": "录入错误"},
                                                   kind="standard")).status_code == 201
    project()
    rows = progress(client, writers["admin"], "330000", "zhejiang-14th-fyp", "2021-12-31")
    assert rows["zhejiang_made_standards_new"]["registry_value"] == 0


def test_targets_children_sum_linear_path_and_statuses(client, writers, plans_loaded, project):
    rows = progress(client, writers["admin"], "330000", "zhejiang-14th-fyp", "2023-07-02")
    standards = rows["zhejiang_made_standards_new"]
    assert standards["target"]["value"] == 2000 and standards["target"]["plan"] == (
        "zhejiang-14th-fyp")
    assert standards["baseline"]["value"] == 0  # a new count starts from zero
    assert 0 < standards["expected"] < 2000
    huzhou = next(c for c in standards["children"] if c["tenant"]["code"] == "330500")
    assert huzhou["target"]["value"] == 200 and huzhou["target"]["plan"] == "huzhou-14th-fyp"
    assert standards["children_target_sum"] == 200 and standards["children_with_targets"] == 1
    assert standards["status"] == "behind"
    # 浙江制造精品 is counted since the kind boutique (issue 15): nothing listed yet
    boutique = rows["zhejiang_made_boutique_products"]
    assert (boutique["measure"], boutique["value"], boutique["target"]["value"]) == (
        "zhejiang_made_boutique_products", 0, 2500)
    assert boutique["status"] == "behind" and boutique["baseline"]["value"] == 1238
    pingyang = progress(client, writers["admin"], "330326", "pingyang-14th-fyp-text",
                        "2023-07-02")
    assert pingyang["zhejiang_made_boutique_products"]["target"]["value"] is None


def test_admins_set_targets_within_their_subtree(client, writers, token_for, plans_loaded,
                                                 project):
    huzhou_admin = token_for("admin", "330500")
    body = {"tenant": "330523", "indicator": "zhejiang_made_standards_new",
            "target": {"value": 40}, "reason": "分解目标"}
    response = client.post("/v1/plans/huzhou-14th-fyp/targets", json=body,
                           headers=auth(huzhou_admin))
    assert response.status_code == 201, response.json
    assert response.json["target"]["comparator"] == ">="
    project()
    rows = progress(client, huzhou_admin, "330500", "huzhou-14th-fyp", "2023-01-01")
    anji = next(c for c in rows["zhejiang_made_standards_new"]["children"]
                if c["tenant"]["code"] == "330523")
    assert anji["target"]["value"] == 40
    sibling = token_for("admin", "330523")
    assert client.post("/v1/plans/huzhou-14th-fyp/targets", json={**body, "tenant": "330522"},
                       headers=auth(sibling)).status_code == 403
    auditor = token_for("auditor", "330500")
    assert client.post("/v1/plans/huzhou-14th-fyp/targets", json=body,
                       headers=auth(auditor)).status_code == 403
    bad = client.post("/v1/plans/huzhou-14th-fyp/targets", headers=auth(huzhou_admin),
                      json={**body, "indicator": "nope", "target": {"value": "x"}})
    assert bad.status_code == 422 and "target.value" in bad.json["errors"]
    outside = client.post("/v1/plans/huzhou-14th-fyp/targets", headers=auth(writers["admin"]),
                          json={**body, "tenant": "330326"})
    assert outside.status_code == 422 and "tenant" in outside.json["errors"]
    plan = client.get("/v1/plans/huzhou-14th-fyp", headers=auth(huzhou_admin)).json
    assert any(t["tenant"] == "330523" and t["reason"] == "分解目标" for t in plan["targets"])
    assert client.get("/v1/plans/nope", headers=auth(huzhou_admin)).status_code == 404


def test_progress_csv_and_yearly_series(client, writers, plans_loaded, project):
    for n, day in enumerate(["2021-03-01", "2022-03-01", "2022-09-01"]):
        assert post(client, writers["sb"], standard(f"T/ZZB S{n}-2021", "330523",
                                                    day)).status_code == 201
    project()
    response = client.get("/v1/tenants/330500/progress.csv",
                          query_string={"plan": "huzhou-14th-fyp", "as_of": "2023-06-30"},
                          headers=auth(writers["admin"]))
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    standards = next(r for r in rows if r["key"] == "zhejiang_made_standards_new")
    assert (standards["value"], standards["target"]) == ("3", "200")
    series = client.get("/v1/tenants/330500/progress/series",
                        query_string={"plan": "huzhou-14th-fyp", "as_of": "2023-06-30"},
                        headers=auth(writers["admin"])).json
    points = next(i for i in series["indicators"]
                  if i["key"] == "zhejiang_made_standards_new")["points"]
    assert [(p["date"], p["value"]) for p in points] == [
        ("2021-12-31", 1), ("2022-12-31", 3), ("2023-06-30", 3)]
    assert points[0]["expected"] == pytest.approx(40, abs=0.5)


def test_progress_needs_a_known_plan_and_a_visible_tenant(client, token_for, plans_loaded):
    county = token_for("auditor", "330523")
    assert client.get("/v1/tenants/330523/progress", headers=auth(county)).status_code == 422
    assert client.get("/v1/tenants/330523/progress?plan=nope",
                      headers=auth(county)).status_code == 404
    assert client.get("/v1/tenants/330522/progress?plan=huzhou-14th-fyp",
                      headers=auth(county)).status_code == 403


def test_a_citys_path_under_the_provincial_plan_does_not_start_from_the_provinces_baseline(
        client, writers, plans_loaded, project):
    admin = writers["admin"]
    assert client.post("/v1/plans/zhejiang-14th-fyp/targets", headers=auth(admin), json={
        "tenant": "330500", "indicator": "pinzibiao_enterprises", "target": {"value": 150},
        "reason": "分解到市"}).status_code == 201
    project()
    province = progress(client, admin, "330000", "zhejiang-14th-fyp", "2023-07-02")
    huzhou = progress(client, admin, "330500", "zhejiang-14th-fyp", "2023-07-02")
    assert province["pinzibiao_enterprises"]["baseline"]["value"] == 1500
    baseline = huzhou["pinzibiao_enterprises"]["baseline"]
    assert baseline["source"] == "registry" and baseline["value"] == 0
    assert 0 < huzhou["pinzibiao_enterprises"]["expected"] < 150
