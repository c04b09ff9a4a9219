"""The dashboard's pages through the test client: sign-in, CSRF, scope, headers, sessions."""

from __future__ import annotations

import datetime as dt

from registry.clock import Clock
from tenants.principals import hash_token
from tests.helpers import auth
from tests.ui.conftest import csrf_from, sign_in


def test_pages_need_a_signed_in_principal(ui_app, history):
    client = ui_app.test_client()
    response = client.get("/ui/tenants/330000?as_of=2025-06-30")
    assert response.status_code == 302
    assert response.location == "/ui/sign-in?next=/ui/tenants/330000?as_of%3D2025-06-30"
    for path in ("/ui/", "/ui/records", "/ui/tenants/330000/audit", "/ui/records.csv",
                 "/ui/records/certification/ZJM-2023-UI-0001"):
        assert client.get(path).status_code == 302


def test_an_admin_signs_in_and_lands_on_the_overview_of_its_tenant(signed_in):
    client, token = signed_in("admin", "330500")
    home = client.get("/ui/")
    assert home.status_code == 302 and home.location == "/ui/tenants/330500"
    page = client.get("/ui/tenants/330500?as_of=2025-06-30")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert 'id="card-pinzibiao_enterprises"' in html
    assert "培育“品字标”企业 <span class=\"en\">· “品字标” enterprises cultivated" in html
    assert 'value="huzhou-14th-fyp" selected' in html           # the tenant's own plan
    assert 'href="/ui/tenants/330523?plan=huzhou-14th-fyp&amp;as_of=2025-06-30"' in html


def test_the_default_plan_is_the_nearest_ancestors_and_the_date_is_capped_at_its_end(signed_in):
    client, _ = signed_in("auditor", "330523")
    html = client.get("/ui/tenants/330523").get_data(as_text=True)
    assert 'value="huzhou-14th-fyp" selected' in html
    capped = min(Clock().today(), dt.date(2025, 12, 31))  # min(today, the plan's end)
    assert f'id="as_of" value="{capped.isoformat()}"' in html
    assert 'id="quick-midterm" href="/ui/tenants/330523?plan=huzhou-14th-fyp&amp;as_of=2025-06-30"' in html


def test_the_session_cookie_holds_neither_the_token_nor_its_hash(ui_app, signed_in):
    client, token = signed_in()
    cookie = client.get_cookie("qbr_session", path="/ui")
    assert cookie is not None and cookie.http_only and cookie.same_site == "Lax"
    assert token not in cookie.value and hash_token(token) not in cookie.value
    data = ui_app.session_interface.get_signing_serializer(ui_app).loads(cookie.value)
    assert set(data) >= {"pid", "tag", "iat"}
    assert token not in str(data) and hash_token(token) not in str(data)


def test_the_cookie_is_secure_over_https(ui_app, token_for, history):
    client = ui_app.test_client()
    page = client.get("/ui/sign-in", base_url="https://localhost")
    response = client.post("/ui/sign-in", base_url="https://localhost",
                           headers={"Referer": "https://localhost/ui/sign-in"},
                           data={"token": token_for("admin", "330000"),
                                 "csrf_token": csrf_from(page)})
    assert response.status_code == 302
    assert "Secure" in response.headers["Set-Cookie"]
    assert "HttpOnly" in response.headers["Set-Cookie"]


def test_sign_in_without_a_csrf_token_is_refused(ui_app, token_for, history):
    client = ui_app.test_client()
    client.get("/ui/sign-in")
    response = client.post("/ui/sign-in", data={"token": token_for("admin", "330000")})
    assert response.status_code == 400
    assert client.get("/ui/tenants/330000").status_code == 302


def test_a_forged_csrf_token_is_refused(ui_app, token_for, history):
    client = ui_app.test_client()
    client.get("/ui/sign-in")
    response = client.post("/ui/sign-in", data={"token": token_for("admin", "330000"),
                                                "csrf_token": "forged"})
    assert response.status_code == 400


def test_a_wrong_token_and_a_writer_role_are_refused(ui_app, token_for, history):
    client = ui_app.test_client()
    assert sign_in(client, "qbr_not-a-real-token").status_code == 401
    assert sign_in(client, token_for("certification-body", "330500")).status_code == 403
    assert sign_in(client, token_for("standards-body", "330000")).status_code == 403
    assert client.get("/ui/tenants/330500").status_code == 302


def test_a_county_admin_cannot_reach_a_sibling_countys_pages(signed_in):
    client, _ = signed_in("admin", "330523")
    assert client.get("/ui/tenants/330523").status_code == 200
    for path in ("/ui/tenants/330522", "/ui/tenants/330500", "/ui/tenants/330522/trends",
                 "/ui/tenants/330522/audit", "/ui/records?tenant=330522",
                 "/ui/tenants/330522/events.jsonl",
                 "/ui/tenants/330522/progress.csv?plan=huzhou-14th-fyp"):
        response = client.get(path)
        assert response.status_code == 403, path
        assert response.mimetype == "text/html"
    assert client.get("/ui/records/certification/ZJM-2023-UI-0003").status_code == 404
    listing = client.get("/ui/records").get_data(as_text=True)
    assert "ZJM-2023-UI-0001" in listing and "ZJM-2023-UI-0003" not in listing


def test_sign_out_clears_the_session(signed_in):
    client, _ = signed_in()
    page = client.get("/ui/tenants/330000")
    response = client.post("/ui/sign-out", data={"csrf_token": csrf_from(page)})
    assert response.status_code == 302 and response.location.startswith("/ui/sign-in")
    assert client.get_cookie("qbr_session", path="/ui") is None
    assert client.get("/ui/tenants/330000").status_code == 302


def test_sign_out_without_a_csrf_token_is_refused(signed_in):
    client, _ = signed_in()
    assert client.post("/ui/sign-out").status_code == 400
    assert client.get("/ui/tenants/330000").status_code == 200


def test_revoking_the_principal_ends_its_session(signed_in, services):
    client, token = signed_in("auditor", "330500")
    assert client.get("/ui/tenants/330500").status_code == 200
    principal = services.directory.authenticate(token)
    services.directory.revoke_principal(principal.id, "left the bureau")
    response = client.get("/ui/tenants/330500")
    assert response.status_code == 302 and "/ui/sign-in" in response.location
    assert client.get_cookie("qbr_session", path="/ui") is None


def test_an_expired_session_is_refused(ui_app, signed_in):
    client, _ = signed_in()
    with client.session_transaction("/ui/") as session:
        session["iat"] -= 9 * 3600
    assert client.get("/ui/tenants/330000").status_code == 302


def test_next_never_leaves_the_dashboard(ui_app, token_for, history):
    client = ui_app.test_client()
    token = token_for("admin", "330000")
    assert sign_in(client, token, "https://evil.example/ui/").location == "/ui/tenants/330000"
    assert sign_in(client, token, "//evil.example/ui/").location == "/ui/tenants/330000"
    assert sign_in(client, token, "/ui/records?kind=gi").location == "/ui/records?kind=gi"


def test_every_dashboard_response_carries_the_security_headers(ui_app, signed_in):
    client, _ = signed_in()
    for path in ("/ui/sign-in", "/ui/tenants/330000", "/ui/static/ui.css", "/ui/tenants/999999"):
        headers = client.get(path).headers
        csp = headers["Content-Security-Policy"]
        assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
        assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["X-Frame-Options"] == "DENY"
        assert headers["Referrer-Policy"] == "same-origin"
    assert client.get("/ui/tenants/330000").headers["Cache-Control"] == "no-store"


def test_pages_use_no_inline_script_or_style(signed_in):
    client, _ = signed_in()
    for path in ("/ui/tenants/330500?as_of=2025-06-30", "/ui/tenants/330500/trends",
                 "/ui/records", "/ui/tenants/330500/audit",
                 "/ui/records/certification/ZJM-2023-UI-0001"):
        html = client.get(path).get_data(as_text=True)
        assert "<script" not in html and "style=" not in html and "<style" not in html, path
        assert "http://" not in html and "https://" not in html.replace(
            'xmlns="http://www.w3.org/2000/svg"', ""), path


def test_a_record_page_shows_its_state_and_timeline(signed_in):
    client, _ = signed_in("admin", "330523")
    html = client.get("/ui/records/certification/ZJM-2023-UI-0001").get_data(as_text=True)
    assert 'data-state="suspended"' in html
    assert 'data-type="certification.suspended"' in html
    assert 'data-type="certification.issued"' in html
    assert "监督抽查不合格" in html


def test_records_filter_by_status_and_page(signed_in):
    client, _ = signed_in("admin", "330500")
    html = client.get("/ui/records?kind=certification&status=suspended").get_data(as_text=True)
    assert "ZJM-2023-UI-0001" in html and "ZJM-2023-UI-0002" not in html


def test_the_audit_page_and_the_downloads_use_the_session_scope(signed_in):
    client, _ = signed_in("admin", "330500")
    audit = client.get("/ui/tenants/330500/audit?kind=certification")
    assert audit.status_code == 200 and "ZJM-2023-UI-0003" in audit.get_data(as_text=True)
    jsonl = client.get("/ui/tenants/330523/events.jsonl")
    assert jsonl.status_code == 200 and jsonl.mimetype == "application/x-ndjson"
    assert len(jsonl.get_data(as_text=True).splitlines()) == 3
    csv = client.get("/ui/records.csv?kind=certification")
    assert csv.status_code == 200 and "ZJM-2023-UI-0003" in csv.get_data(as_text=True)
    progress = client.get("/ui/tenants/330500/progress.csv?plan=huzhou-14th-fyp")
    assert progress.status_code == 200 and progress.mimetype == "text/csv"


def test_the_api_does_not_accept_the_dashboard_session(signed_in):
    client, token = signed_in()
    assert client.get("/v1/records").status_code == 401     # cookie path is /ui anyway
    client.set_cookie("qbr_session", client.get_cookie("qbr_session", path="/ui").value,
                      path="/")
    assert client.get("/v1/records").status_code == 401
    assert client.get("/v1/records", headers=auth(token)).status_code == 200


def test_the_trend_page_draws_svg_charts(signed_in):
    client, _ = signed_in("admin", "330500")
    html = client.get("/ui/tenants/330500/trends?as_of=2025-06-30").get_data(as_text=True)
    assert 'id="trend-pinzibiao_enterprises"' in html
    assert "<polyline" in html and 'class="path-line"' in html


def test_the_language_switch_needs_csrf_and_changes_labels(signed_in):
    client, _ = signed_in("admin", "330500")
    page = client.get("/ui/tenants/330500")
    assert client.post("/ui/language", data={"lang": "en"}).status_code == 400
    client.post("/ui/language", data={"lang": "en", "csrf_token": csrf_from(page),
                                      "next": "/ui/tenants/330500"})
    html = client.get("/ui/tenants/330500").get_data(as_text=True)
    assert "Overview" in html and "概览" not in html


def test_the_site_root_leads_to_the_dashboard(ui_app):
    response = ui_app.test_client().get("/")
    assert response.status_code == 302 and response.location == "/ui/"


def test_each_division_below_shows_its_own_status_or_that_it_has_no_target(signed_in):
    client, token = signed_in("admin", "330500")
    response = client.post("/v1/plans/huzhou-14th-fyp/targets", headers=auth(token), json={
        "tenant": "330523", "indicator": "pinzibiao_enterprises", "target": {"value": 40},
        "reason": "目标分解"})
    assert response.status_code == 201
    html = client.get("/ui/tenants/330500?as_of=2025-06-30").get_data(as_text=True)
    table = html.split('id="kids-pinzibiao_enterprises"', 1)[1].split("</table>", 1)[0]
    assert 'data-code="330523" data-status="behind"' in table
    assert 'data-code="330522" data-status="no_target"' in table
    county = client.get("/ui/tenants/330523?as_of=2025-06-30").get_data(as_text=True)
    card = county.split('id="card-pinzibiao_enterprises"', 1)[1].split("</article>", 1)[0]
    assert 'data-status="behind"' in card           # the same status on its own overview


def test_a_database_outage_is_a_503_page_not_a_stack_trace(ui_app, signed_in, monkeypatch):
    from eventsourcing.persistence import OperationalError

    client, _ = signed_in()

    def down(*args, **kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr(ui_app.extensions["registry"].get().read_models, "wait_for", down)
    response = client.get("/ui/tenants/330000")
    assert response.status_code == 503 and response.headers["Retry-After"] == "2"
    assert "connection refused" not in response.get_data(as_text=True)


def test_the_overview_has_an_expiring_panel_per_division(signed_in, ui_app, token_for, project):
    """Issue 17: 即将到期 · expiring, next 30/90/180 days, per child, with the soonest."""
    import datetime as dt

    from tests.helpers import issued, post

    writer = token_for("certification-body", "330500")
    client = ui_app.test_client()
    today = Clock().today()
    for key, until in (("EXP-20", 20), ("EXP-100", 100)):
        body = issued(key, tenant="330523", occurred_on=(today - dt.timedelta(days=300))
                      .isoformat(), valid_until=(today + dt.timedelta(days=until)).isoformat())
        assert post(client, writer, body).status_code == 201
    project()
    admin, _ = signed_in("admin", "330500")
    html = admin.get("/ui/tenants/330500").get_data(as_text=True)
    assert 'id="expiring"' in html and "即将到期" in html
    assert 'id="expiring-30">1<' in html and 'id="expiring-90">1<' in html
    assert 'id="expiring-180">2<' in html
    assert "EXP-20" in html and html.index("EXP-20") < html.index("EXP-100")
    listing = admin.get("/ui/records?kind=certification&valid_until_from="
                        f"{today.isoformat()}&valid_until_to="
                        f"{(today + dt.timedelta(days=30)).isoformat()}")
    assert "EXP-20" in listing.get_data(as_text=True)
    assert "EXP-100" not in listing.get_data(as_text=True)
