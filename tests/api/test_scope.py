"""Scope: nobody writes or reads outside their subtree or their kinds (403 / 404)."""

from __future__ import annotations

from tests.helpers import auth, envelope, holder, issued, post


def test_a_writer_cannot_create_records_outside_its_subtree(client, token_for):
    anji = token_for("certification-body", "330523")
    response = post(client, anji, issued("S-1", tenant="330522"))
    assert response.status_code == 403
    assert response.json["tenant"] == "330522"


def test_a_sibling_county_can_neither_read_nor_write_a_record(client, token_for):
    anji = token_for("certification-body", "330523")
    changxing = token_for("certification-body", "330522")
    assert post(client, anji, issued("S-2", tenant="330523")).status_code == 201
    for path in ("/v1/records/certification/S-2", "/v1/records/certification/S-2/events"):
        response = client.get(path, headers=auth(changxing))
        assert response.status_code == 404
        assert "330523" not in response.get_data(as_text=True)
    write = post(client, changxing, envelope("certification.suspended", "S-2", "2023-06-01",
                                             {"reason": "r"}))
    assert write.status_code == 404


def test_a_city_admin_reads_its_counties_but_not_another_city(client, token_for):
    cb = token_for("certification-body", "330000")
    assert post(client, cb, issued("S-3", tenant="330523")).status_code == 201
    huzhou = token_for("admin", "330500")
    hangzhou = token_for("admin", "330100")
    assert client.get("/v1/records/certification/S-3", headers=auth(huzhou)).status_code == 200
    assert client.get("/v1/records/certification/S-3", headers=auth(hangzhou)).status_code == 404


def test_an_auditor_reads_but_writes_nothing(client, token_for):
    cb = token_for("certification-body", "330500")
    auditor = token_for("auditor", "330500")
    assert post(client, cb, issued("S-4")).status_code == 201
    assert client.get("/v1/records/certification/S-4", headers=auth(auditor)).status_code == 200
    response = post(client, auditor, envelope("record.voided", "S-4", "2023-06-01",
                                              {"reason": "r"}, kind="certification"))
    assert response.status_code == 403


def test_a_certification_body_reads_and_writes_only_its_kinds(client, token_for):
    admin = token_for("admin", "330500")
    cb = token_for("certification-body", "330500")
    assert post(client, admin, envelope("standard.published", "T/ZZB 9-2022", "2022-01-01",
                                        {"title": "t", "lead": holder(),
                                         "effective_on": "2022-01-01"},
                                        tenant="330523")).status_code == 201
    assert client.get("/v1/records/standard/T%2FZZB%209-2022",
                      headers=auth(cb)).status_code == 404
    write = post(client, cb, envelope("standard.withdrawn", "T/ZZB 9-2022", "2023-01-01",
                                      {"reason": "r"}))
    assert write.status_code == 403


def test_an_admin_does_not_issue_certificates(client, token_for):
    admin = token_for("admin", "330000")
    assert post(client, admin, issued("S-5")).status_code == 403


def test_a_transfer_out_of_the_subtree_is_refused(client, token_for):
    cb = token_for("certification-body", "330500")
    huzhou_admin = token_for("admin", "330500")
    assert post(client, cb, issued("S-6", tenant="330523")).status_code == 201
    response = post(client, huzhou_admin, envelope("record.transferred", "S-6", "2023-06-01",
                                                   {"to_tenant": "330106"},
                                                   kind="certification"))
    assert response.status_code == 403


def test_tokens_must_be_live(client, token_for, services):
    assert client.get("/v1/tenants").status_code == 401
    assert client.get("/v1/tenants", headers=auth("qbr_nope")).status_code == 401
    assert client.get("/v1/tenants", headers={"Authorization": "Basic abc"}).status_code == 401
    token = token_for("auditor", "330500")
    assert client.get("/v1/tenants", headers=auth(token)).status_code == 200
    principal = services.directory.authenticate(token)
    services.directory.revoke_principal(principal.id)
    response = client.get("/v1/tenants", headers=auth(token))
    assert response.status_code == 401
    assert response.mimetype == "application/problem+json"


def test_the_tenant_tree_is_scoped(client, token_for):
    province = token_for("auditor", "330000")
    huzhou = token_for("auditor", "330500")
    assert len(client.get("/v1/tenants", headers=auth(province)).json["tenants"]) == 102
    visible = client.get("/v1/tenants", headers=auth(huzhou)).json["tenants"]
    assert {t["code"] for t in visible} == {"330500", "330502", "330503", "330521", "330522",
                                            "330523"}
    one = client.get("/v1/tenants/330500", headers=auth(huzhou)).json
    assert [c["code"] for c in one["children"]] == ["330502", "330503", "330521", "330522",
                                                    "330523"]
    assert client.get("/v1/tenants/330100", headers=auth(huzhou)).status_code == 403
    assert client.get("/v1/tenants/339999", headers=auth(huzhou)).status_code == 404


def test_public_verification_shows_only_state_holder_and_validity(client, token_for):
    cb = token_for("certification-body", "330500")
    assert post(client, cb, issued("S-P", valid_until="2029-01-01")).status_code == 201
    body = client.get("/v1/public/records/certification/S-P").json
    assert body["status"] == "valid" and body["valid"] is True
    assert body["holder_name"] == "湖州竹业有限公司"
    assert "uscc" not in str(body) and "tenant" not in body
    assert client.get("/v1/public/records/certification/NOPE").status_code == 404
