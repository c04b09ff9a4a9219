"""The fifth kind, 浙江制造精品 (issue 15), end to end over HTTP on both databases: listed
and delisted by the admins that may, counted, in plan progress, imported, audited, shown
and publicly verifiable — from its own module (events/boutique.py) and measures.json only."""

from __future__ import annotations

import pytest

from api.ui import labels
from events import KIND_SPECS, allowed_types
from tests.helpers import auth, envelope, holder, post


def listed(key: str, tenant: str, day: str, n: int = 1, list_year: int | None = None) -> dict:
    return envelope("boutique.listed", key, day, {
        "holder": holder(f"精品企业{n}", tenant, 6000 + n), "product": f"精品产品{n}",
        "list_year": list_year or int(day[:4]), "list_batch": "浙经信技术〔2023〕95号"},
        tenant=tenant)


@pytest.fixture
def admins(token_for):
    return {code: token_for("admin", code) for code in ("330000", "330500", "330523", "330326")}


def test_the_province_and_the_listing_tenants_admins_list_and_delist(client, admins,
                                                                    token_for):
    assert post(client, admins["330000"], listed("JX-1", "330523", "2023-12-20")).status_code == 201
    assert post(client, admins["330523"], listed("JX-2", "330523", "2023-12-20", 2)
                ).status_code == 201
    # a city admin above the county may not list its products, nor a certification body
    refused = post(client, admins["330500"], listed("JX-3", "330523", "2023-12-20", 3))
    assert refused.status_code == 403, refused.json
    assert "330523" in refused.json["detail"]
    cb = token_for("certification-body", "330000")
    assert post(client, cb, listed("JX-4", "330523", "2023-12-20", 4)).status_code == 403
    # delisting is final: afterwards only corrections, transfers and voiding remain
    gone = post(client, admins["330523"], envelope("boutique.delisted", "JX-2", "2024-06-01",
                                                   {"reason": "抽检不合格"}))
    assert gone.status_code == 201, gone.json
    again = post(client, admins["330000"], envelope("boutique.delisted", "JX-2", "2024-07-01",
                                                    {"reason": "again"}))
    assert again.status_code == 409 and again.json["state"] == "delisted"
    assert set(again.json["allowed_types"]) == set(allowed_types("boutique", "delisted")) == {
        "record.amended", "record.transferred", "record.voided"}
    body = client.get("/v1/records/boutique/JX-1", headers=auth(admins["330523"])).json
    assert body["status"] == "listed" and body["attributes"]["list_year"] == 2023
    assert body["attributes"]["holder"]["name"] == "精品企业1"


@pytest.mark.parametrize("data, field", [
    ({"list_year": "2023"}, "data.list_year"),
    ({"list_year": 1989}, "data.list_year"),
    ({"list_batch": ""}, "data.list_batch"),
    ({"holder": {"name": "某企业", "uscc": "330523199001011234"}}, "data.holder.uscc"),
])
def test_bad_listings_are_refused_naming_the_field(client, admins, data, field):
    body = listed("JX-BAD", "330523", "2023-12-20")
    body["data"].update(data)
    response = post(client, admins["330000"], body)
    assert response.status_code == 422, response.json
    assert field in response.json["errors"], response.json
    assert client.get("/v1/records/boutique/JX-BAD",
                      headers=auth(admins["330000"])).status_code == 404


def test_counts_and_the_plans_count_listed_products(client, admins, plans_loaded, project):
    for n in range(5):  # Pingyang: one listed before its 14th plan, four in it, one delisted
        day = "2020-06-01" if n == 0 else f"{2020 + n}-11-01"
        assert post(client, admins["330326"], listed(f"PY-JX-{n}", "330326", day, n)
                    ).status_code == 201
    last = post(client, admins["330000"], envelope("boutique.delisted", "PY-JX-4", "2024-12-01",
                                                   {"reason": "企业申请退出"}))
    assert last.status_code == 201
    project()
    counts = client.get("/v1/tenants/330000/counts", headers=auth(admins["330000"]),
                        query_string={"as_of": "2024-12-31",
                                      "min_position": last.json["position"]}).json
    assert counts["counts"]["boutique"] == {"listed": 4, "delisted": 1}
    rows = client.get("/v1/tenants/330326/progress", headers=auth(admins["330326"]),
                      query_string={"plan": "pingyang-14th-fyp", "as_of": "2024-12-31"}).json
    row = next(r for r in rows["indicators"] if r["key"] == "zhejiang_made_boutique_products")
    # new in 2021-2025: the four listed in the period, less the one delisted since
    assert (row["value"], row["target"]["value"], row["form"]) == (3, 20, "in_period"), row
    assert row["status"] != "not_tracked"


def test_a_listing_is_audited_imported_shown_and_publicly_verifiable(client, admins, project,
                                                                     settings, tmp_path):
    from click.testing import CliRunner

    from api.cli import main

    path = tmp_path / "boutique.csv"
    path.write_text(
        "type,record,tenant,occurred_on,holder_name,holder_uscc,product,list_year,list_batch\n"
        f"boutique.listed,JX-IMP-1,330523,2023/12/20,安吉竹海家居有限公司,"
        f"{holder(region='330523', n=4711)['uscc']},竹地板,2023,浙经信技术〔2023〕95号\n",
        encoding="utf-8")
    result = CliRunner().invoke(main, ["import", str(path), "--principal-token",
                                       admins["330523"]],
                                env={"REGISTRY_DATABASE_URL": settings.database_url,
                                     "REGISTRY_DATABASE_SCHEMA": settings.database_schema})
    assert result.exit_code == 0, result.output
    assert '"stored": 1' in result.stdout, result.stdout
    project()
    body = client.get("/v1/records/boutique/JX-IMP-1", headers=auth(admins["330523"])).json
    assert body["created_on"] == "2023-12-20" and body["attributes"]["list_year"] == 2023
    feed = client.get("/v1/tenants/330500/events", headers=auth(admins["330000"]),
                      query_string={"kind": "boutique"}).json
    assert [(e["type"], e["record"]) for e in feed["events"]] == [
        ("boutique.listed", "JX-IMP-1")]
    page = client.get("/verify/boutique/JX-IMP-1")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "竹地板" in html and "安吉竹海家居有限公司" in html and "入选" in html
    assert labels.KINDS["boutique"] == KIND_SPECS["boutique"].label == (
        "浙江制造精品", "Zhejiang Made boutique product")
