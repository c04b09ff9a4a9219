"""`registry init` on an existing store imports a corrected seed file as plan.revised events
(issue 12): the plans read the new indicators, counting and baselines; nothing else moves."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from tenants import seed
from tenants.principals import OPERATOR

SHARED = Path(__file__).resolve().parents[3] / "shared" / "plans"


def older_seed() -> dict:
    """The seed as it was before the corrections: no yearly baselines, Pingyang's text plan
    counting 品字标 enterprises 'unspecified', no placeholder plan."""
    document = copy.deepcopy(seed.load("targets.json"))
    document["plans"] = [p for p in document["plans"]
                         if p["id"] not in ("pingyang-14th-fyp-text-placeholders",
                                            "huzhou-13th-fyp-completion")]
    for plan in document["plans"]:
        for indicator in plan["indicators"]:
            (indicator.get("baseline") or {}).pop("per", None)
            if plan["id"] == "pingyang-14th-fyp-text" and indicator["key"] == (
                    "pinzibiao_enterprises"):
                indicator["counting"] = "unspecified"
    return document


def test_a_corrected_seed_is_imported_as_plan_revised_events(services):
    plans = services.plans
    assert plans.import_plans(older_seed(), OPERATOR.actor())["adopted"] == 11
    text = plans.get("pingyang-14th-fyp-text")
    assert text.indicator("pinzibiao_enterprises")["counting"] == "unspecified"
    result = plans.import_plans(seed.load("targets.json"), OPERATOR.actor())
    assert result["adopted"] == 2 and result["revised"] >= 2
    text = plans.get("pingyang-14th-fyp-text")
    assert text.indicator("pinzibiao_enterprises")["counting"] == "new"
    assert plans.get("zhejiang-14th-fyp").indicator("zhejiang_made_standards_new")[
        "baseline"]["per"] == "year"
    types = [p.event.TYPE for p in services.log.read_all() if hasattr(p.event, "plan_id")]
    assert "plan.revised" in types
    again = plans.import_plans(seed.load("targets.json"), OPERATOR.actor())
    assert again == {"adopted": 0, "revised": 0, "unchanged": 13}


def test_an_admins_target_survives_a_revision_of_other_indicators(services, plans_loaded):
    scope = services.directory.operator_scope()
    services.plans.set_target(scope, "zhejiang-14th-fyp", {
        "tenant": "330000", "indicator": "pinzibiao_enterprises", "reason": "调整",
        "target": {"value": 2600}})
    document = copy.deepcopy(seed.load("targets.json"))
    plan = next(p for p in document["plans"] if p["id"] == "zhejiang-14th-fyp")
    plan["indicators"][0]["note"] = "a corrected note"
    assert services.plans.import_plans(document, OPERATOR.actor())["revised"] == 1
    view = services.plans.get("zhejiang-14th-fyp")
    assert view.target_for("330000", "pinzibiao_enterprises")["value"] == 2600


@pytest.mark.skipif(not SHARED.exists(), reason="the shared originals are not beside the "
                                                "repository")
def test_the_shipped_targets_are_the_shared_original():
    shipped = seed.load("targets.json")
    assert shipped == json.loads((SHARED / "targets.json").read_text("utf-8"))
