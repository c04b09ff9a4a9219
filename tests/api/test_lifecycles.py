"""Every event type of DESIGN.md 2.1, posted through the API, on both databases."""

from __future__ import annotations

import pytest

from tests.helpers import auth, envelope, holder, issued, post


def state(client, token, kind, key, **params):
    response = client.get(f"/v1/records/{kind}/{key}", headers=auth(token), query_string=params)
    assert response.status_code == 200, response.json
    return response.json


def walk(client, token, steps):
    """Post envelopes in order, checking the status and version after each."""
    for version, (body, expected_status) in enumerate(steps, start=1):
        response = post(client, token, body)
        assert response.status_code == 201, response.json
        assert response.json["version"] == version
        assert response.json["position"] > 0
        kind = response.json["kind"]
        assert state(client, token, kind, body["record"])["status"] == expected_status


def test_a_certificate_walks_its_whole_lifecycle(client, token_for):
    cb = token_for("certification-body", "330500")
    key = "ZJM-2023-000123"
    walk(client, cb, [
        (issued(key, occurred_on="2023-05-10", valid_until="2029-05-09"), "valid"),
        (envelope("certification.international_issued", key, "2023-06-01",
                  {"certificate_no": "IQNET-1", "partner": "IQNet", "country": "de"}), "valid"),
        (envelope("certification.suspended", key, "2023-07-01", {"reason": "audit"}), "suspended"),
        (envelope("certification.international_withdrawn", key, "2023-07-02",
                  {"certificate_no": "IQNET-1"}), "suspended"),
        (envelope("certification.reinstated", key, "2023-08-01"), "valid"),
        (envelope("certification.renewed", key, "2024-01-01", {"valid_until": "2030-01-01"}),
         "valid"),
        (envelope("certification.withdrawn", key, "2024-02-01", {"reason": "closed"}),
         "withdrawn"),
    ])
    body = state(client, cb, "certification", key)
    assert body["attributes"]["valid_until"] == "2030-01-01"
    assert body["international_certificates"][0]["country"] == "DE"
    assert body["international_certificates"][0]["held"] is False


def test_a_certificate_can_be_marked_expired(client, token_for):
    cb = token_for("certification-body", "330000")
    walk(client, cb, [
        (issued("C-EXP", occurred_on="2020-01-01", valid_until="2023-01-01"), "expired"),
    ])
    assert state(client, cb, "certification", "C-EXP", as_of="2022-12-31")["status"] == "valid"
    response = post(client, cb, envelope("certification.expired", "C-EXP", "2023-01-02"))
    assert response.status_code == 201
    assert state(client, cb, "certification", "C-EXP", as_of="2022-12-31")["status"] == "valid"


def test_a_certificate_is_expired_on_any_day_after_valid_until(client, token_for):
    cb = token_for("certification-body", "330000")
    assert post(client, cb, issued("C-IMP", occurred_on="2020-01-01",
                                   valid_until="2022-06-30")).status_code == 201
    assert state(client, cb, "certification", "C-IMP", as_of="2022-06-30")["status"] == "valid"
    assert state(client, cb, "certification", "C-IMP", as_of="2022-07-01")["status"] == "expired"
    late = post(client, cb, envelope("certification.suspended", "C-IMP", "2022-07-05",
                                     {"reason": "late"}))
    assert late.status_code == 409
    assert late.json["state"] == "expired"


def test_a_standard_is_drafted_published_revised_and_withdrawn(client, token_for):
    sb = token_for("standards-body", "330000")
    key = "T/ZZB 2310-2021"
    walk(client, sb, [
        (envelope("standard.drafting_approved", key, "2021-01-05",
                  {"title": "竹地板", "lead": holder()}, tenant="330523"), "drafting"),
        (envelope("standard.published", key, "2021-06-01",
                  {"title": "竹地板", "effective_on": "2021-07-01"}), "published"),
        (envelope("standard.revised", key, "2024-03-01",
                  {"new_code": "T/ZZB 2310-2024", "effective_on": "2024-04-01"}), "published"),
        (envelope("standard.withdrawn", key, "2025-01-01", {"reason": "superseded"}),
         "withdrawn"),
    ])
    response = client.get("/v1/records/standard/T%2FZZB%202310-2021", headers=auth(sb))
    assert response.json["attributes"]["code"] == "T/ZZB 2310-2024"


def test_a_standard_can_be_published_without_drafting(client, token_for):
    admin = token_for("admin", "330500")
    walk(client, admin, [
        (envelope("standard.published", "T/ZZB 0001-2022", "2022-01-01",
                  {"title": "茶", "lead": holder(), "effective_on": "2022-02-01"},
                  tenant="330523"), "published"),
    ])


def test_an_award_is_nominated_granted_and_revoked(client, token_for):
    admin = token_for("admin", "330000")
    walk(client, admin, [
        (envelope("award.nominated", "PQA-2022-01", "2022-03-01",
                  {"level": "provincial", "title": "浙江省人民政府质量奖", "year": 2022,
                   "awardee": holder()}, tenant="330523"), "nominated"),
        (envelope("award.granted", "PQA-2022-01", "2022-12-01",
                  {"level": "provincial", "title": "浙江省人民政府质量奖", "year": 2022}), "granted"),
        (envelope("award.revoked", "PQA-2022-01", "2023-06-01", {"reason": "fraud"}), "revoked"),
    ])


def test_an_award_can_be_granted_without_nomination(client, token_for):
    admin = token_for("admin", "330523")
    walk(client, admin, [
        (envelope("award.granted", "AJ-2023-01", "2023-01-01",
                  {"level": "county", "title": "安吉县政府质量奖", "year": 2023,
                   "awardee": holder()}, tenant="330523"), "granted"),
    ])


def test_a_geographic_indication_is_applied_registered_and_cancelled(client, token_for):
    admin = token_for("admin", "330500")
    walk(client, admin, [
        (envelope("gi.applied", "GI-AJ-白茶", "2019-01-01",
                  {"gi_type": "protected_product", "name": "安吉白茶", "applicant": holder()},
                  tenant="330523"), "applied"),
        (envelope("gi.registered", "GI-AJ-白茶", "2019-06-01", {"registration_no": "GI-0001"}),
         "registered"),
        (envelope("gi.cancelled", "GI-AJ-白茶", "2024-06-01", {"reason": "lapsed"}), "cancelled"),
    ])


def test_a_geographic_indication_can_be_rejected_or_registered_directly(client, token_for):
    admin = token_for("admin", "330500")
    walk(client, admin, [
        (envelope("gi.applied", "GI-1", "2019-01-01",
                  {"gi_type": "trademark", "name": "长兴紫笋茶", "applicant": holder()},
                  tenant="330522"), "applied"),
        (envelope("gi.rejected", "GI-1", "2019-03-01", {"reason": "not distinctive"}),
         "rejected"),
    ])
    walk(client, admin, [
        (envelope("gi.registered", "GI-2", "2020-01-01",
                  {"registration_no": "AGI-2020-1", "gi_type": "agricultural_product",
                   "name": "德清早园笋", "applicant": holder()}, tenant="330521"), "registered"),
    ])


def test_a_record_can_be_amended_transferred_and_voided(client, token_for):
    cb = token_for("certification-body", "330500")
    admin = token_for("admin", "330500")
    key = "ZJM-AMEND"
    assert post(client, cb, issued(key, tenant="330523")).status_code == 201
    amend = post(client, admin, envelope("record.amended", key, "2023-06-01",
                                         {"changes": {"product": "竹地板（强化）"}, "reason": "typo"},
                                         kind="certification"))
    assert amend.status_code == 201
    move = post(client, admin, envelope("record.transferred", key, "2023-07-01",
                                        {"to_tenant": "330522"}, kind="certification"))
    assert move.status_code == 201
    body = state(client, admin, "certification", key)
    assert body["tenant"] == "330522"
    assert body["attributes"]["product"] == "竹地板（强化）"
    assert state(client, admin, "certification", key, as_of="2023-06-15")["tenant"] == "330523"
    void = post(client, admin, envelope("record.voided", key, "2023-08-01",
                                        {"reason": "entered in error"}, kind="certification"))
    assert void.status_code == 201
    assert state(client, admin, "certification", key)["voided"] is True
    after = post(client, admin, envelope("record.amended", key, "2023-09-01",
                                         {"changes": {"product": "x"}, "reason": "r"},
                                         kind="certification"))
    assert after.status_code == 409
    assert after.json["state"] == "voided"
    assert after.json["allowed_types"] == []


@pytest.mark.parametrize("kind", ["certification", "standard", "award", "gi"])
def test_history_lists_envelopes_in_version_order_with_registry_fields(client, token_for, kind):
    admin = token_for("admin", "330000")
    cb = token_for("certification-body", "330000", ("certification",))
    first = {
        "certification": issued("H-1"),
        "standard": envelope("standard.drafting_approved", "H-1", "2021-01-01",
                             {"title": "t", "lead": holder()}, tenant="330523"),
        "award": envelope("award.nominated", "H-1", "2021-01-01",
                          {"level": "city", "title": "t", "year": 2021, "awardee": holder()},
                          tenant="330523"),
        "gi": envelope("gi.applied", "H-1", "2021-01-01",
                       {"gi_type": "trademark", "name": "n", "applicant": holder()},
                       tenant="330523"),
    }[kind]
    writer = cb if kind == "certification" else admin
    assert post(client, writer, first).status_code == 201
    amend = envelope("record.amended", "H-1", "2024-01-01",
                     {"changes": {"holder" if kind == "certification" else
                                  {"standard": "lead", "award": "awardee",
                                   "gi": "applicant"}[kind]: holder("新名称")},
                      "reason": "renamed"}, kind=kind)
    assert post(client, admin, amend).status_code == 201
    response = client.get(f"/v1/records/{kind}/H-1/events", headers=auth(admin))
    assert response.status_code == 200
    events = response.json["events"]
    assert [e["version"] for e in events] == [1, 2]
    assert events[0]["id"] == first["id"] and events[1]["id"] == amend["id"]
    assert events[0]["position"] < events[1]["position"]
    assert events[1]["actor"]["role"] == "admin"
    assert events[1]["data"]["reason"] == "renamed"
    assert set(events[0]) >= {"id", "type", "record", "kind", "tenant", "occurred_on", "data",
                              "version", "position", "recorded_at", "actor"}
