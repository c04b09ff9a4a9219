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
