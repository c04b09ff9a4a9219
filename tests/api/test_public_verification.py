"""Public verification (issue 17): a page anyone can open from a QR code, with public fields
only; the QR code encodes the page's address; a public search by key, USCC or name prefix."""

from __future__ import annotations

import datetime as dt
import io

import segno

from tests.helpers import auth, envelope, holder, issued, post

HOLDER = holder("安吉竹海家居有限公司", "330523", 4711)


def certify(client, token_for, project):
    cb = token_for("certification-body", "330000", name="浙江方圆检测认证（演示）")
    assert post(client, cb, issued("VER-1", holder_=HOLDER, occurred_on="2023-05-10",
                                   valid_until="2029-05-09")).status_code == 201
    assert post(client, cb, envelope("certification.suspended", "VER-1", "2024-03-01",
                                     {"reason": "监督抽查不合格（内部）"})).status_code == 201
    assert post(client, cb, envelope("certification.reinstated", "VER-1",
                                     "2024-06-01")).status_code == 201
    project()
    return cb


def test_the_verification_page_shows_public_fields_only(client, token_for, project):
    cb = certify(client, token_for, project)
    page = client.get("/verify/certification/VER-1")
    assert page.status_code == 200 and page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    assert "安吉竹海家居有限公司" in html and "VER-1" in html and "2029-05-09" in html
    assert HOLDER["uscc"][:8] + "**********" in html and HOLDER["uscc"] not in html
    assert "浙江方圆检测认证（演示）" in html                 # the issuing body's name
    assert "监督抽查不合格" not in html                          # never a reason
    assert "<script" not in html.lower()
    assert "2024-03-01" in html and "2024-06-01" in html         # history as dates
    assert "default-src 'none'" in page.headers["Content-Security-Policy"]
    principal = client.get("/v1/records/certification/VER-1", headers=auth(cb)).json
    assert principal["attributes"]["holder"]["uscc"] not in html
    assert client.get("/verify/certification/NOPE").status_code == 404


def test_the_qr_code_encodes_the_page_address(client, token_for, project):
    certify(client, token_for, project)
    response = client.get("/verify/certification/VER-1/qr.svg")
    assert response.status_code == 200 and response.mimetype == "image/svg+xml"
    target = response.headers["X-QR-Target"]
    assert target == "http://localhost/verify/certification/VER-1"
    expected = io.BytesIO()
    segno.make(target, error="m").save(expected, kind="svg", scale=4, border=4, title="VER-1")
    assert response.get_data() == expected.getvalue()  # the same matrix as the address's
    assert client.get(target.replace("http://localhost", "")).status_code == 200


def test_public_search_by_key_uscc_and_name_prefix(client, token_for, project):
    certify(client, token_for, project)
    for q in ("VER-1", HOLDER["uscc"], HOLDER["uscc"].lower(), "安吉竹海"):
        found = client.get("/v1/public/records", query_string={"q": q}).json["records"]
        assert [r["record"] for r in found] == ["VER-1"], q
        assert set(found[0]) == {"kind", "record", "holder_name", "status", "valid_until",
                                 "checked_on", "verify_url"}
        assert found[0]["status"] == "valid"
    short = client.get("/v1/public/records", query_string={"q": "安"})
    assert short.status_code == 422 and "q" in short.json["errors"]
    assert client.get("/v1/public/records", query_string={"q": "竹海"}).json["records"] == []


def test_public_search_returns_at_most_20(client, token_for, project):
    cb = token_for("certification-body", "330000")
    for n in range(25):
        body = issued(f"MANY-{n:02d}", holder_=holder(f"湖州多证企业{n}", "330523", 5100 + n),
                      occurred_on=(dt.date(2023, 1, 1) + dt.timedelta(days=n)).isoformat())
        assert post(client, cb, body).status_code == 201
    project()
    found = client.get("/v1/public/records", query_string={"q": "湖州多证"}).json["records"]
    assert len(found) == 20
