"""A readable audit feed (issue 17): newest first with stable cursors both ways while writes
go on, the actor filter by the start of a name, per-row links on the dashboard."""

from __future__ import annotations

from tests.helpers import auth, issued, post


def feed(client, token, **params):
    response = client.get("/v1/tenants/330000/events", query_string=params,
                          headers=auth(token))
    assert response.status_code == 200, response.json
    return response.json


def test_newest_first_pages_stay_stable_while_writes_continue(client, token_for, project):
    cb = token_for("certification-body", "330000", name="湖州认证中心")
    admin = token_for("admin", "330000")
    for n in range(12):
        assert post(client, cb, issued(f"AU-{n:02d}")).status_code == 201
    project()
    first = feed(client, admin, order="desc", limit=5, type="certification.issued")
    keys = [e["record"] for e in first["events"]]
    assert keys == [f"AU-{n:02d}" for n in range(11, 6, -1)] and first["prev"] is None
    for n in range(12, 15):  # new events arrive while the auditor pages back
        assert post(client, cb, issued(f"AU-{n:02d}")).status_code == 201
    project()
    older = feed(client, admin, order="desc", limit=5, type="certification.issued",
                 before=first["next"])
    assert [e["record"] for e in older["events"]] == [f"AU-{n:02d}" for n in range(6, 1, -1)]
    back = feed(client, admin, order="desc", limit=5, type="certification.issued",
                after=older["prev"])
    assert [e["record"] for e in back["events"]] == keys  # the same page again
    assert back["prev"] is not None  # the three written since are newer still
    oldest = feed(client, admin, order="desc", limit=5, type="certification.issued", after=0)
    assert [e["record"] for e in oldest["events"]] == [f"AU-{n:02d}" for n in range(4, -1, -1)]
    assert oldest["next"] is None
    ascending = feed(client, admin, limit=5, type="certification.issued")
    assert [e["record"] for e in ascending["events"]][0] == "AU-00"
    bad = client.get("/v1/tenants/330000/events?order=sideways", headers=auth(admin))
    assert bad.status_code == 422 and "order" in bad.json["errors"]


def test_the_actor_filter_takes_the_start_of_a_name(client, token_for, project):
    first = token_for("certification-body", "330000", name="湖州认证中心")
    other = token_for("certification-body", "330000", name="杭州检测院")
    admin = token_for("admin", "330000")
    assert post(client, first, issued("AC-1")).status_code == 201
    assert post(client, other, issued("AC-2")).status_code == 201
    project()
    by_name = feed(client, admin, actor="湖州", type="certification.issued")
    assert [e["record"] for e in by_name["events"]] == ["AC-1"]
    by_id = feed(client, admin, actor=by_name["events"][0]["actor"]["id"],
                 type="certification.issued")
    assert [e["record"] for e in by_id["events"]] == ["AC-1"]
    assert feed(client, admin, actor="无此人")["events"] == []
