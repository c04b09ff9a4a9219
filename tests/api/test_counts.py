"""GET /v1/tenants/{code}/counts and GET /v1/records, served from the projections."""

from __future__ import annotations

import datetime as dt

import pytest

from api import create_app
from tests.helpers import auth, envelope, holder, issued, post


@pytest.fixture
def writers(token_for):
    return {"cb": token_for("certification-body", "330000"), "admin": token_for("admin", "330000")}


def counts(client, token, code="330000", **params):
    response = client.get(f"/v1/tenants/{code}/counts", query_string=params, headers=auth(token))
    assert response.status_code == 200, response.json
    return response.json


def child(body, code):
    return next(c["counts"] for c in body["children"] if c["tenant"]["code"] == code)


def test_counts_roll_up_the_tree_with_a_breakdown_per_child(client, writers, project):
    cb = writers["cb"]
    for key, tenant in (("A", "330523"), ("B", "330523"), ("C", "330106")):
        assert post(client, cb, issued(key, tenant=tenant)).status_code == 201
    project()
    body = counts(client, writers["admin"], as_of="2024-01-01")
    assert body["counts"]["certification"]["valid"] == 3
    assert child(body, "330500")["certification"]["valid"] == 2
    assert child(body, "330100")["certification"]["valid"] == 1
    assert child(body, "330300")["certification"]["valid"] == 0
    huzhou = counts(client, writers["admin"], "330500", as_of="2024-01-01")
    assert [c["tenant"]["code"] for c in huzhou["children"]] == [
        "330502", "330503", "330521", "330522", "330523"]
    assert child(huzhou, "330523")["certification"]["valid"] == 2
    assert body["position"] > 0 and body["as_of"] == "2024-01-01"


def test_an_enterprise_with_three_certificates_is_one_holder(client, writers, project):
    enterprise = holder("安吉一家企业", n=4242)
    for key in ("H1", "H2", "H3"):
        assert post(client, writers["cb"], issued(key, holder_=enterprise)).status_code == 201
    project()
    body = counts(client, writers["admin"], as_of="2024-01-01")["counts"]["certification"]
    assert (body["valid"], body["holders_valid"]) == (3, 1)


def test_a_certificate_counts_as_expired_after_valid_until(client, writers, project):
    assert post(client, writers["cb"], issued("E", occurred_on="2020-01-01",
                                              valid_until="2022-12-31")).status_code == 201
    project()
    before = counts(client, writers["admin"], as_of="2022-12-31")["counts"]["certification"]
    after = counts(client, writers["admin"], as_of="2023-01-01")["counts"]["certification"]
    assert (before["valid"], before["expired"]) == (1, 0)
    assert (after["valid"], after["expired"]) == (0, 1)


def test_a_transfer_moves_the_count_from_its_date(client, writers, project):
    assert post(client, writers["cb"], issued("T", tenant="330523",
                                              occurred_on="2021-01-01")).status_code == 201
    assert post(client, writers["admin"], envelope("record.transferred", "T", "2023-03-01",
                                                   {"to_tenant": "330106"},
                                                   kind="certification")).status_code == 201
    project()
    before = counts(client, writers["admin"], as_of="2023-02-28")
    after = counts(client, writers["admin"], as_of="2023-03-01")
    assert child(before, "330500")["certification"]["valid"] == 1
    assert child(before, "330100")["certification"]["valid"] == 0
    assert child(after, "330500")["certification"]["valid"] == 0
    assert child(after, "330100")["certification"]["valid"] == 1
    assert after["counts"]["certification"]["valid"] == 1


def test_a_voided_record_leaves_every_count_on_every_date(client, writers, project):
    assert post(client, writers["cb"], issued("V", occurred_on="2021-01-01")).status_code == 201
    project()
    assert counts(client, writers["admin"], as_of="2022-01-01")["counts"]["certification"][
        "valid"] == 1
    assert post(client, writers["admin"], envelope("record.voided", "V", "2023-01-01",
                                                   {"reason": "entered in error"},
                                                   kind="certification")).status_code == 201
    project()
    for day in ("2021-06-01", "2022-01-01", "2024-01-01"):
        assert counts(client, writers["admin"], as_of=day)["counts"]["certification"][
            "valid"] == 0


def test_known_at_excludes_events_recorded_later(client, writers, project):
    assert post(client, writers["cb"], issued("K", occurred_on="2023-01-01")).status_code == 201
    before_suspension = dt.datetime.now(dt.timezone.utc).isoformat()
    assert post(client, writers["cb"], envelope("certification.suspended", "K", "2023-06-01",
                                                {"reason": "r"})).status_code == 201
    project()
    now = counts(client, writers["admin"], as_of="2023-07-01")["counts"]["certification"]
    then = counts(client, writers["admin"], as_of="2023-07-01",
                  known_at=before_suspension)["counts"]["certification"]
    assert (now["valid"], now["suspended"]) == (0, 1)
    assert (then["valid"], then["suspended"]) == (1, 0)


def test_awards_count_by_level_and_international_certificates_are_held(client, writers,
                                                                       project):
    admin, cb = writers["admin"], writers["cb"]
    for n, level in enumerate(("national", "provincial", "provincial", "county")):
        assert post(client, admin, envelope("award.granted", f"AW{n}", "2022-01-01", {
            "level": level, "title": "t", "year": 2022, "awardee": holder()},
            tenant="330523")).status_code == 201
    assert post(client, admin, envelope("award.revoked", "AW1", "2023-01-01",
                                        {"reason": "r"})).status_code == 201
    assert post(client, cb, issued("IC")).status_code == 201
    assert post(client, cb, envelope("certification.international_issued", "IC", "2023-06-01",
                                     {"certificate_no": "X", "partner": "IQNet",
                                      "country": "DE"})).status_code == 201
    project()
    body = counts(client, admin, as_of="2024-01-01")["counts"]
    assert body["award"]["granted"] == 3 and body["award"]["revoked"] == 1
    assert body["award"]["granted_by_level"] == {"national": 1, "provincial": 1, "city": 0,
                                                 "county": 1}
    assert body["international_certificate"] == {"held": 1}


def test_counts_are_scoped(client, writers, token_for, project):
    assert post(client, writers["cb"], issued("SC")).status_code == 201
    project()
    anji_cb = token_for("certification-body", "330523")
    body = counts(client, anji_cb, "330523", as_of="2024-01-01")
    assert set(body["counts"]) == {"certification", "international_certificate"}
    assert client.get("/v1/tenants/330522/counts", headers=auth(anji_cb)).status_code == 403
    assert client.get("/v1/tenants/330000/counts", headers=auth(anji_cb)).status_code == 403
    assert client.get("/v1/tenants/339999/counts", headers=auth(anji_cb)).status_code == 404


def test_a_read_waits_for_min_position_then_answers_503(settings, services, writers):
    app = create_app(settings=settings.with_overrides({"read_wait_seconds": 0.2}))
    client = app.test_client()
    receipt = post(client, writers["cb"], issued("RW")).json
    response = client.get("/v1/tenants/330000/counts",
                          query_string={"min_position": receipt["position"]},
                          headers=auth(writers["admin"]))
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "1"
    assert response.mimetype == "application/problem+json"
    services.projector().catch_up()
    response = client.get("/v1/tenants/330000/counts",
                          query_string={"min_position": receipt["position"]},
                          headers=auth(writers["admin"]))
    assert response.status_code == 200
    assert int(response.headers["X-Registry-Position"]) >= receipt["position"]
    assert response.json["counts"]["certification"]["valid"] == 1
    app.extensions["registry"].close()


def test_record_search_filters_and_pages_within_scope(client, writers, token_for, project):
    cb = writers["cb"]
    enterprise = holder("德清搜索企业", region="330521", n=777)
    for n in range(7):
        assert post(client, cb, issued(f"S-{n:02d}", tenant="330521", holder_=enterprise,
                                       valid_until="2030-01-01")).status_code == 201
    assert post(client, cb, issued("S-99", tenant="330106")).status_code == 201
    assert post(client, cb, envelope("certification.suspended", "S-03", "2024-01-01",
                                     {"reason": "r"})).status_code == 201
    project()
    huzhou = token_for("admin", "330500")
    seen, cursor = [], None
    while True:
        params = {"kind": "certification", "limit": 3, **({"cursor": cursor} if cursor else {})}
        page = client.get("/v1/records", query_string=params, headers=auth(huzhou)).json
        seen += [r["record"] for r in page["records"]]
        cursor = page["next"]
        if cursor is None:
            break
    assert seen == [f"S-{n:02d}" for n in range(7)]
    suspended = client.get("/v1/records", query_string={"status": "suspended"},
                           headers=auth(huzhou)).json["records"]
    assert [r["record"] for r in suspended] == ["S-03"]
    by_holder = client.get("/v1/records", query_string={"holder": enterprise["uscc"]},
                           headers=auth(writers["admin"])).json["records"]
    assert len(by_holder) == 7
    by_text = client.get("/v1/records", query_string={"q": "S-9"},
                         headers=auth(writers["admin"])).json["records"]
    assert [r["record"] for r in by_text] == ["S-99"]
    assert client.get("/v1/records", query_string={"tenant": "330100"},
                      headers=auth(huzhou)).status_code == 403
    bad = client.get("/v1/records", query_string={"cursor": "%%%"}, headers=auth(huzhou))
    assert bad.status_code == 422 and "cursor" in bad.json["errors"]


def test_ready_reports_the_projection_lag(client, writers, project):
    assert post(client, writers["cb"], issued("L")).status_code == 201
    lagging = client.get("/v1/ready").json
    assert lagging["projection"]["lag_events"] > 0
    project()
    caught_up = client.get("/v1/ready").json
    assert caught_up["projection"]["lag_events"] == 0
    assert caught_up["projection"]["position"] == caught_up["head_position"]


def test_dated_counts_are_exact_on_every_side_of_month_and_year_boundaries(client, writers,
                                                                             project):
    """The series are kept as yearly and monthly totals plus the days of each month: a date
    at either edge of a month or a year must still count exactly the records of that day."""
    cb = writers["cb"]
    assert post(client, cb, issued("MB-1", occurred_on="2022-01-31",
                                   valid_until="2023-02-28")).status_code == 201
    assert post(client, cb, issued("MB-2", occurred_on="2022-03-01",
                                   valid_until="2022-12-31")).status_code == 201
    assert post(client, cb, issued("MB-3", occurred_on="2023-12-31",
                                   valid_until="2024-02-29")).status_code == 201
    project()
    expected = {"2022-01-30": 0, "2022-01-31": 1, "2022-02-28": 1, "2022-03-01": 2,
                "2022-12-31": 2, "2023-01-01": 1, "2023-02-28": 1, "2023-03-01": 0,
                "2023-12-30": 0, "2023-12-31": 1, "2024-02-29": 1, "2024-03-01": 0}
    found = {day: counts(client, writers["admin"], as_of=day)["counts"]["certification"]
             .get("valid", 0) for day in expected}
    assert found == expected
