"""The audit feed, bitemporal reads and exports (issue 6)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json

import pytest

from tests.helpers import auth, envelope, holder, issued, post


@pytest.fixture
def actors(token_for):
    return {"cb": token_for("certification-body", "330000", name="省认证中心"),
            "admin": token_for("admin", "330000"), "huzhou": token_for("admin", "330500"),
            "anji": token_for("auditor", "330523"), "changxing": token_for("auditor", "330522")}


def feed(client, token, code, **params):
    response = client.get(f"/v1/tenants/{code}/events", query_string=params,
                          headers=auth(token))
    assert response.status_code == 200, response.json
    return response.json


def test_the_feed_lists_the_subtree_in_position_order_with_every_field(client, actors,
                                                                       project):
    cb = actors["cb"]
    assert post(client, cb, issued("A-1", tenant="330523")).status_code == 201
    assert post(client, cb, issued("A-2", tenant="330106")).status_code == 201
    assert post(client, cb, envelope("certification.suspended", "A-1", "2023-06-01",
                                     {"reason": "抽查"})).status_code == 201
    project()
    body = feed(client, actors["huzhou"], "330500")
    records = [e for e in body["events"] if e["type"].startswith("certification.")]
    assert [(e["record"], e["type"]) for e in records] == [
        ("A-1", "certification.issued"), ("A-1", "certification.suspended")]
    first = records[0]
    assert set(first) >= {"id", "type", "record", "kind", "tenant", "occurred_on", "data",
                          "version", "position", "recorded_at", "actor"}
    assert first["actor"]["name"] == "省认证中心"
    positions = [e["position"] for e in body["events"]]
    assert positions == sorted(positions)


def test_principal_and_plan_changes_appear_in_the_feed(client, actors, services, plans_loaded,
                                                       project):
    response = client.post("/v1/plans/huzhou-14th-fyp/targets", headers=auth(actors["huzhou"]),
                           json={"tenant": "330523", "indicator": "zhejiang_made_standards_new",
                                 "target": {"value": 30}, "reason": "分解"})
    assert response.status_code == 201
    principal = services.directory.authenticate(actors["anji"])
    services.directory.revoke_principal(principal.id, "离职")
    project()
    types = [e["type"] for e in feed(client, actors["huzhou"], "330500")["events"]]
    assert "principal.added" in types and "principal.revoked" in types
    assert "plan.target_set" in types
    serialized = json.dumps(feed(client, actors["admin"], "330000"))
    assert "token_hash" not in serialized


def test_filters_narrow_the_feed(client, actors, project):
    cb, admin = actors["cb"], actors["admin"]
    before = dt.datetime.now(dt.timezone.utc)
    assert post(client, cb, issued("F-1", occurred_on="2022-01-01")).status_code == 201
    assert post(client, admin, envelope("standard.published", "T/ZZB F-2022", "2022-05-01",
                                        {"title": "t", "lead": holder(),
                                         "effective_on": "2022-05-01"},
                                        tenant="330523")).status_code == 201
    assert post(client, cb, envelope("certification.suspended", "F-1", "2023-01-01",
                                     {"reason": "r"})).status_code == 201
    project()

    def types(**params):
        return [e["type"] for e in feed(client, admin, "330000", **params)["events"]
                if e["type"].split(".")[0] in ("certification", "standard")]

    assert types(kind="standard") == ["standard.published"]
    assert types(type="certification.suspended") == ["certification.suspended"]
    assert types(record="F-1") == ["certification.issued", "certification.suspended"]
    assert types(occurred_from="2022-03-01", occurred_to="2022-12-31") == ["standard.published"]
    assert types(**{"from": before.isoformat()}) == [
        "certification.issued", "standard.published", "certification.suspended"]
    assert types(**{"to": before.isoformat()}) == []
    admin_id = next(e["actor"]["id"] for e in feed(client, admin, "330000", kind="standard")[
        "events"])
    assert types(actor=admin_id) == ["standard.published"]
    bad = client.get("/v1/tenants/330000/events", query_string={"type": "nope"},
                     headers=auth(admin))
    assert bad.status_code == 422 and "type" in bad.json["errors"]


def test_pages_are_stable_while_writes_continue(client, actors, project):
    cb, admin = actors["cb"], actors["admin"]
    for n in range(5):
        assert post(client, cb, issued(f"P-{n}")).status_code == 201
    project()
    first = feed(client, admin, "330000", kind="certification", limit=3)
    for n in range(5, 8):
        assert post(client, cb, issued(f"P-{n}")).status_code == 201
    project()
    second = feed(client, admin, "330000", kind="certification", limit=3,
                  after=first["next"])
    third = feed(client, admin, "330000", kind="certification", limit=3,
                 after=second["next"])
    seen = [e["record"] for page in (first, second, third) for e in page["events"]]
    assert seen == [f"P-{n}" for n in range(8)]
    assert third["next"] is None


def test_a_county_auditor_sees_nothing_of_a_sibling_county(client, actors, project):
    cb = actors["cb"]
    assert post(client, cb, issued("S-A", tenant="330523")).status_code == 201
    assert post(client, cb, issued("S-C", tenant="330522")).status_code == 201
    project()
    anji, changxing = actors["anji"], actors["changxing"]
    own = feed(client, anji, "330523")["events"]
    assert {e["record"] for e in own if e.get("kind")} == {"S-A"}
    assert client.get("/v1/tenants/330522/events", headers=auth(anji)).status_code == 403
    assert client.get("/v1/tenants/330522/events.jsonl",
                      headers=auth(anji)).status_code == 403
    assert client.get("/v1/records/certification/S-C", headers=auth(anji)).status_code == 404
    assert client.get("/v1/tenants/330522/counts", headers=auth(anji)).status_code == 403
    listed = client.get("/v1/records", headers=auth(anji)).json["records"]
    assert [r["record"] for r in listed] == ["S-A"]
    export = client.get("/v1/tenants/330523/events.jsonl", headers=auth(anji))
    assert "S-C" not in export.get_data(as_text=True)
    assert client.get("/v1/tenants/330523/events",
                      headers=auth(actors["cb"])).status_code == 403
    assert feed(client, changxing, "330522")["events"]


def test_a_transfer_shows_in_both_tenants_feeds(client, actors, project):
    assert post(client, actors["cb"], issued("T-1", tenant="330523")).status_code == 201
    assert post(client, actors["huzhou"], envelope("record.transferred", "T-1", "2023-07-01",
                                                   {"to_tenant": "330522"},
                                                   kind="certification")).status_code == 201
    project()
    changxing = [e["type"] for e in feed(client, actors["changxing"], "330522")["events"]
                 if e.get("record") == "T-1"]
    anji = [e["type"] for e in feed(client, actors["anji"], "330523")["events"]
            if e.get("record") == "T-1"]
    assert changxing == ["record.transferred"]
    assert anji == ["certification.issued", "record.transferred"]


def test_a_backdated_suspension_changes_last_months_answer_but_not_yesterdays_knowledge(
        client, actors, project):
    cb, admin = actors["cb"], actors["admin"]
    today = dt.date.today()
    last_month = today - dt.timedelta(days=30)
    assert post(client, cb, issued("B-1", occurred_on=(today - dt.timedelta(days=400))
                                   .isoformat(), valid_until="2099-01-01")).status_code == 201
    yesterday = (dt.datetime.now(dt.timezone.utc)).isoformat()
    backdated = (today - dt.timedelta(days=45)).isoformat()
    assert post(client, cb, envelope("certification.suspended", "B-1", backdated,
                                     {"reason": "追溯暂停"})).status_code == 201
    project()

    def valid(**params):
        return client.get("/v1/tenants/330000/counts", query_string=params,
                          headers=auth(admin)).json["counts"]["certification"]

    assert valid(as_of=last_month.isoformat())["suspended"] == 1
    assert valid(as_of=last_month.isoformat(), known_at=yesterday)["valid"] == 1
    record = client.get("/v1/records/certification/B-1", headers=auth(admin),
                        query_string={"as_of": last_month.isoformat(),
                                      "known_at": yesterday}).json
    assert record["status"] == "valid"
    record = client.get("/v1/records/certification/B-1", headers=auth(admin),
                        query_string={"as_of": last_month.isoformat()}).json
    assert record["status"] == "suspended"


def test_exports_stream_json_lines_and_csv(client, actors, project):
    for n in range(3):
        assert post(client, actors["cb"], issued(f"X-{n}", tenant="330523")).status_code == 201
    project()
    lines = client.get("/v1/tenants/330500/events.jsonl", query_string={"kind": "certification"},
                       headers=auth(actors["huzhou"]))
    assert lines.mimetype == "application/x-ndjson"
    documents = [json.loads(line) for line in lines.get_data(as_text=True).splitlines()]
    assert [d["record"] for d in documents] == ["X-0", "X-1", "X-2"]
    table = client.get("/v1/records.csv", query_string={"kind": "certification"},
                       headers=auth(actors["huzhou"]))
    rows = list(csv.DictReader(io.StringIO(table.get_data(as_text=True).lstrip("\ufeff"))))
    assert [r["record"] for r in rows] == ["X-0", "X-1", "X-2"]
    assert rows[0]["holder_uscc"] and rows[0]["status"] == "valid"
