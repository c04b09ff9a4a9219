"""Every error rule of DESIGN.md 2.1: the status, a problem+json body naming the field or
state, and nothing stored."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.helpers import auth, envelope, holder, issued, post


def assert_problem(response, status):
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    body = response.json
    assert body["status"] == status and body["title"] and body["detail"] and body["type"]
    return body


def history_length(client, token, kind, key):
    response = client.get(f"/v1/records/{kind}/{key}/events", headers=auth(token))
    return len(response.json["events"]) if response.status_code == 200 else 0


@pytest.fixture
def cb(token_for):
    return token_for("certification-body", "330500")


def test_an_unknown_type_is_refused_naming_the_type(client, cb):
    body = assert_problem(post(client, cb, envelope("certification.lost", "X", "2023-01-01",
                                                    tenant="330523")), 422)
    assert "type" in body["errors"]


def test_every_field_error_is_reported_at_once(client, cb):
    bad = issued("X-ALL", holder_={"name": "", "uscc": "91330523000000001X"})
    bad["data"]["standards"] = [42]
    bad["data"]["valid_until"] = "2023-13-01"
    bad["data"]["colour"] = "red"
    del bad["data"]["product"]
    bad["surprise"] = True
    body = assert_problem(post(client, cb, bad), 422)
    assert set(body["errors"]) >= {"data.holder.name", "data.holder.uscc", "data.standards.0",
                                   "data.valid_until", "data.colour", "data.product", "surprise"}
    assert history_length(client, cb, "certification", "X-ALL") == 0


@pytest.mark.parametrize("uscc, reason", [
    ("91350100M000100Y44", "Check digit"),
    ("91350100M000100Y4", "18 characters"),
    ("91350100M00010OY43", "alphabet"),
])
def test_a_holder_uscc_needs_a_valid_check_digit(client, cb, uscc, reason):
    body = assert_problem(post(client, cb, issued("X-USCC", holder_={"name": "n", "uscc": uscc})),
                          422)
    assert reason in body["errors"]["data.holder.uscc"][0]


def test_a_country_must_be_iso_3166_alpha_2(client, cb):
    assert post(client, cb, issued("X-C")).status_code == 201
    body = assert_problem(post(client, cb, envelope(
        "certification.international_issued", "X-C", "2023-06-01",
        {"certificate_no": "1", "partner": "IQNet", "country": "XX"})), 422)
    assert "data.country" in body["errors"]


def test_valid_until_must_follow_occurred_on(client, cb):
    body = assert_problem(post(client, cb, issued("X-V", occurred_on="2023-05-10",
                                                  valid_until="2023-05-10")), 422)
    assert "data.valid_until" in body["errors"]


def test_a_renewal_must_extend_validity(client, cb):
    assert post(client, cb, issued("X-R", valid_until="2026-05-09")).status_code == 201
    body = assert_problem(post(client, cb, envelope("certification.renewed", "X-R", "2024-01-01",
                                                    {"valid_until": "2026-05-09"})), 422)
    assert "data.valid_until" in body["errors"]


@pytest.mark.parametrize("occurred_on, message", [
    ((dt.date.today() + dt.timedelta(days=2)).isoformat(), "future"),
    ("1989-12-31", "1990-01-01"),
])
def test_occurred_on_must_be_between_1990_and_today(client, cb, occurred_on, message):
    body = assert_problem(post(client, cb, issued("X-D", occurred_on=occurred_on,
                                                  valid_until="2099-01-01")), 422)
    assert message in body["errors"]["occurred_on"][0]


def test_occurred_on_must_not_precede_the_previous_event(client, cb):
    assert post(client, cb, issued("X-O", occurred_on="2023-05-10")).status_code == 201
    body = assert_problem(post(client, cb, envelope("certification.suspended", "X-O",
                                                    "2023-05-09", {"reason": "r"})), 422)
    assert "occurred_on" in body["errors"]
    assert history_length(client, cb, "certification", "X-O") == 1


def test_a_transition_not_allowed_names_the_state_and_the_allowed_types(client, cb):
    assert post(client, cb, issued("X-T")).status_code == 201
    body = assert_problem(post(client, cb, envelope("certification.reinstated", "X-T",
                                                    "2023-06-01")), 409)
    assert body["state"] == "valid"
    assert "certification.suspended" in body["allowed_types"]
    assert "certification.reinstated" not in body["allowed_types"]


def test_a_creating_type_for_an_existing_record_is_a_conflict(client, cb):
    assert post(client, cb, issued("X-E")).status_code == 201
    assert_problem(post(client, cb, issued("X-E")), 409)
    assert history_length(client, cb, "certification", "X-E") == 1


def test_a_later_type_for_a_missing_record_is_not_found(client, cb):
    assert_problem(post(client, cb, envelope("certification.suspended", "NOPE", "2023-01-01",
                                             {"reason": "r"})), 404)


def test_a_stale_expected_version_is_refused_with_the_current_version(client, cb):
    assert post(client, cb, issued("X-EV")).status_code == 201
    body = assert_problem(post(client, cb, envelope("certification.suspended", "X-EV",
                                                    "2023-06-01", {"reason": "r"},
                                                    expected_version=3)), 409)
    assert body["current_version"] == 1
    ok = post(client, cb, envelope("certification.suspended", "X-EV", "2023-06-01",
                                   {"reason": "r"}, expected_version=1))
    assert ok.status_code == 201 and ok.json["version"] == 2


def test_expected_version_zero_means_the_record_must_be_new(client, cb):
    assert post(client, cb, issued("X-Z", expected_version=0)).status_code == 201
    body = assert_problem(post(client, cb, issued("X-Z", expected_version=0)), 409)
    assert body["current_version"] == 1


def test_a_kind_given_must_match_the_type(client, cb):
    body = assert_problem(post(client, cb, issued("X-K", kind="award")), 422)
    assert "kind" in body["errors"]


def test_record_types_need_a_kind(client, token_for):
    admin = token_for("admin", "330500")
    body = assert_problem(post(client, admin, envelope("record.voided", "X", "2023-01-01",
                                                       {"reason": "r"})), 422)
    assert "kind" in body["errors"]


def test_a_tenant_given_later_must_match_the_record(client, cb):
    assert post(client, cb, issued("X-TM")).status_code == 201
    body = assert_problem(post(client, cb, envelope("certification.suspended", "X-TM",
                                                    "2023-06-01", {"reason": "r"},
                                                    tenant="330522")), 422)
    assert "tenant" in body["errors"]


def test_a_creating_event_needs_a_known_tenant(client, cb):
    body = assert_problem(post(client, cb, issued("X-NT", tenant="339999")), 422)
    assert "tenant" in body["errors"]
    no_tenant = issued("X-NT")
    del no_tenant["tenant"]
    body = assert_problem(post(client, cb, no_tenant), 422)
    assert "tenant" in body["errors"]


def test_fields_required_when_new_are_named(client, token_for):
    admin = token_for("admin", "330000")
    body = assert_problem(post(client, admin, envelope(
        "gi.registered", "GI-N", "2020-01-01", {"registration_no": "1"}, tenant="330523")), 422)
    assert set(body["errors"]) == {"data.gi_type", "data.name", "data.applicant"}


def test_an_international_certificate_number_is_issued_once(client, cb):
    assert post(client, cb, issued("X-I")).status_code == 201
    item = {"certificate_no": "N1", "partner": "IQNet", "country": "FR"}
    assert post(client, cb, envelope("certification.international_issued", "X-I", "2023-06-01",
                                     item)).status_code == 201
    assert_problem(post(client, cb, envelope("certification.international_issued", "X-I",
                                             "2023-06-02", item)), 409)
    body = assert_problem(post(client, cb, envelope("certification.international_withdrawn",
                                                    "X-I", "2023-06-03",
                                                    {"certificate_no": "N2"})), 422)
    assert "data.certificate_no" in body["errors"]


def test_an_amendment_names_only_amendable_fields(client, token_for, cb):
    admin = token_for("admin", "330500")
    assert post(client, cb, issued("X-A")).status_code == 201
    body = assert_problem(post(client, admin, envelope(
        "record.amended", "X-A", "2023-06-01",
        {"changes": {"valid_until": "2030-01-01"}, "reason": "r"}, kind="certification")), 422)
    assert "data.changes.valid_until" in body["errors"]
    body = assert_problem(post(client, admin, envelope(
        "record.amended", "X-A", "2023-06-01", {"changes": {}, "reason": "r"},
        kind="certification")), 422)
    assert "data.changes" in body["errors"]


def test_a_transfer_needs_a_different_known_tenant(client, token_for, cb):
    admin = token_for("admin", "330500")
    assert post(client, cb, issued("X-TR")).status_code == 201
    for target in ("330523", "339999"):
        body = assert_problem(post(client, admin, envelope(
            "record.transferred", "X-TR", "2023-06-01", {"to_tenant": target},
            kind="certification")), 422)
        assert "data.to_tenant" in body["errors"]


def test_a_county_admin_cannot_grant_a_provincial_award(client, token_for):
    county = token_for("admin", "330523")
    body = assert_problem(post(client, county, envelope(
        "award.granted", "PQA-X", "2023-01-01",
        {"level": "provincial", "title": "t", "year": 2023, "awardee": holder()},
        tenant="330523")), 403)
    assert body["level"] == "provincial"
    province = token_for("admin", "330000")
    assert post(client, province, envelope(
        "award.granted", "CQA-X", "2023-01-01",
        {"level": "national", "title": "中国质量奖", "year": 2023, "awardee": holder()},
        tenant="330523")).status_code == 201
    revoke = post(client, county, envelope("award.revoked", "CQA-X", "2024-01-01",
                                           {"reason": "r"}))
    assert_problem(revoke, 403)
