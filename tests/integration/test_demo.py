"""`registry demo`: deterministic, realistic, and a mix of statuses at the mid-term review."""

from __future__ import annotations

from collections import Counter

from api.reports import plan_progress
from registry.demo import REVIEW_DATE, Demo


def statuses(services, plan, tenant):
    scope = services.directory.operator_scope()
    rows = plan_progress(services, scope, tenant, plan, REVIEW_DATE).table()
    return Counter(row["status"] for row in rows if row["status"] != "not_tracked")


def test_the_demo_shows_achieved_on_track_and_behind_indicators(services, plans_loaded):
    stored = Demo(services.registry, services.plans, services.directory).run()
    assert stored > 1500
    services.projector().catch_up()
    province = statuses(services, "zhejiang-14th-fyp", "330000")
    huzhou = statuses(services, "huzhou-14th-fyp", "330500")
    pingyang = statuses(services, "pingyang-14th-fyp-text", "330326")
    assert province["behind"] and province["on_track"]
    for counter in (huzhou, pingyang):
        assert counter["achieved"] and counter["on_track"] and counter["behind"], counter
    again = Demo(services.registry, services.plans, services.directory).run()
    assert again == 0  # same envelope ids: nothing stored twice


def test_the_demo_follows_the_seeds(services, plans_loaded):
    """Finding 8 of issue 12: seed targets where a seed gives one, demo allocations labelled
    as such, city openings adding up to the province's with its unallocated part, and no two
    divisions with identical numbers."""
    Demo(services.registry, services.plans, services.directory).run()
    services.projector().catch_up()
    scope = services.directory.operator_scope()
    province = {r["key"]: r for r in plan_progress(services, scope, "330000", "zhejiang-14th-fyp",
                                                   REVIEW_DATE).table()}
    standards = province["zhejiang_made_standards_new"]
    huzhou = next(c for c in standards["children"] if c["tenant"]["code"] == "330500")
    assert huzhou["target"]["value"] == 200
    assert huzhou["target"]["source"]["plan"] == "huzhou-14th-fyp"
    plan = services.plans.get("zhejiang-14th-fyp")
    demo_targets = [t for (tenant, _), t in plan.targets.items() if tenant != "330000"]
    assert demo_targets and all("演示" in t["reason"] for t in demo_targets)
    eve = {r["key"]: r for r in plan_progress(services, scope, "330000", "zhejiang-14th-fyp",
                                              REVIEW_DATE.replace(year=2020, month=12,
                                                                  day=31)).table()}
    pinzibiao = eve["pinzibiao_enterprises"]
    assert pinzibiao["value"] == 1500
    assert sum(c["value"] for c in pinzibiao["children"]) + pinzibiao["unallocated"] == 1500
    assert pinzibiao["unallocated"] > 0
    # 浙江制造精品 (issue 15): the province's 1,238 of end-2020 (表2-1) plus what was listed
    assert eve["zhejiang_made_boutique_products"]["value"] == 1238
    boutique = province["zhejiang_made_boutique_products"]
    listed = services.read_models.counts(scope, "330000", REVIEW_DATE, None, 0)["counts"][
        "boutique"]
    assert boutique["value"] == 1238 + listed["listed"] > 1238 and listed["delisted"] == 1
    counties = services.read_models.counts(scope, "330500", REVIEW_DATE, None, 0)["children"]
    shapes = [repr(sorted((k, str(v)) for k, v in c["counts"].items())) for c in counties]
    assert len(set(shapes)) == len(shapes)
