"""A plan's tenant-specific data (targets, openings, reasons, actors) is visible only inside
the reader's subtree (issue 12, finding 1)."""

from __future__ import annotations

import pytest

from tests.helpers import auth

SECRET_REASON = "平阳内部分解口径（不公开）"
SECRET_SOURCE = "平阳县2020年内部台账"


@pytest.fixture
def pingyang_facts(client, token_for, plans_loaded):
    """A Pingyang admin records an opening and a target with a reason under its own plan."""
    pingyang = token_for("admin", "330326", name="平阳县市场监督管理局")
    opening = client.post("/v1/plans/pingyang-14th-fyp/openings", headers=auth(pingyang), json={
        "tenant": "330326", "indicator": "zhejiang_made_standards_new", "value": 7,
        "on": "2021-06-30", "note": SECRET_SOURCE})
    assert opening.status_code == 201, opening.json
    target = client.post("/v1/plans/pingyang-14th-fyp/targets", headers=auth(pingyang), json={
        "tenant": "330326", "indicator": "zhejiang_made_standards_new",
        "target": {"value": 25}, "reason": SECRET_REASON})
    assert target.status_code == 201, target.json
    return pingyang


@pytest.mark.parametrize("caller", [("admin", "330327"),               # Cangnan, the sibling
                                    ("certification-body", "330500"),  # another city's body
                                    ("auditor", "330100")])
def test_a_plan_shows_nobody_outside_the_subtree_a_countys_targets_or_openings(
        client, token_for, pingyang_facts, caller):
    outsider = token_for(*caller, name="外部读者")
    response = client.get("/v1/plans/pingyang-14th-fyp", headers=auth(outsider))
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    for secret in (SECRET_REASON, SECRET_SOURCE, "平阳县市场监督管理局"):
        assert secret not in text
    assert all(t["tenant"] != "330326" for t in response.json["targets"])
    assert all(o["tenant"] != "330326" for o in response.json["openings"])
    # the plan document itself stays public: its indicators and printed targets
    assert any(i["key"] == "zhejiang_made_standards_new" for i in response.json["indicators"])


@pytest.mark.parametrize("caller", [("admin", "330326"), ("auditor", "330300"),
                                    ("admin", "330000")])
def test_readers_inside_the_subtree_see_the_countys_targets_and_openings(
        client, token_for, pingyang_facts, caller):
    insider = token_for(*caller)
    body = client.get("/v1/plans/pingyang-14th-fyp", headers=auth(insider)).json
    assert any(t.get("reason") == SECRET_REASON for t in body["targets"])
    assert any(o["tenant"] == "330326" for o in body["openings"])
