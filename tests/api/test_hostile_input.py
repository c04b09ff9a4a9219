"""Nothing a client can send gives a 5xx (issue 14, findings 3, 4 and 7): lone surrogates,
NUL bytes, timestamps out of range, duplicate JSON keys; a problem's `type` is never
overwritten by an event type."""

from __future__ import annotations

import json

import pytest

from tests.helpers import auth, envelope, issued, post

SURROGATE_BODY = ('{"id": "%s", "type": "certification.issued", "record": "SUR-1", '
                  '"tenant": "330523", "occurred_on": "2023-05-10", "data": {"holder": '
                  '{"name": "\\ud800x", "uscc": "91330523000000001N"}, "product": "p", '
                  '"standards": [], "valid_until": "2029-05-09"}}')


def raw_post(client, token, path, text, content_type="application/json"):
    return client.post(path, data=text.encode("utf-8") if isinstance(text, str) else text,
                       headers={**auth(token), "Content-Type": content_type})


def assert_problem(response, status, field=None):
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    body = response.json
    assert body["type"].startswith("/problems/") and body["status"] == status
    if field is not None:
        assert field in body["errors"], body
    return body


@pytest.fixture
def writer(token_for):
    return token_for("certification-body", "330000")


@pytest.fixture
def admin(token_for):
    return token_for("admin", "330000")


def test_a_lone_surrogate_in_a_string_is_refused_naming_the_field(client, writer, admin):
    body = SURROGATE_BODY % "0b6f7d2a-5c1e-4c8e-9a47-1d2f3e4a5b70"
    problem = assert_problem(raw_post(client, writer, "/v1/events", body), 422,
                             "data.holder.name")
    assert "surrogate" in " ".join(problem["errors"]["data.holder.name"]).lower()
    batch = '{"events": [%s]}' % (SURROGATE_BODY % "0b6f7d2a-5c1e-4c8e-9a47-1d2f3e4a5b71")
    assert_problem(raw_post(client, writer, "/v1/events/batch", batch), 422,
                   "events.0.data.holder.name")
    target = ('{"tenant": "330523", "indicator": "zhejiang_made_standards_new", '
              '"target": {"value": 3}, "reason": "\\udfff"}')
    assert_problem(raw_post(client, admin, "/v1/plans/huzhou-14th-fyp/targets", target), 422,
                   "reason")
    key = '{"\\ud800": 1}'
    assert_problem(raw_post(client, writer, "/v1/events", key), 422)


def test_duplicate_json_keys_are_refused(client, writer):
    body = json.dumps(issued("DUP-1"))[:-1] + ', "record": "DUP-2"}'
    problem = assert_problem(raw_post(client, writer, "/v1/events", body), 400)
    assert "record" in problem["detail"] and "twice" in problem["detail"]


@pytest.mark.parametrize("path", [
    "/v1/records?holder=a%00b", "/v1/records?q=a%00b", "/v1/records?cursor=a%00b",
    "/v1/tenants/330000/events?record=a%00b", "/v1/tenants/330000/events?actor=a%00b",
    "/v1/tenants/330000/events.jsonl?record=a%00b", "/v1/records.csv?holder=a%00b",
    "/v1/tenants/330000/progress?plan=a%00b",
])
def test_a_nul_byte_in_a_query_parameter_is_a_422_naming_it(client, admin, path):
    name = path.split("?", 1)[1].split("=", 1)[0]
    assert_problem(client.get(path, headers=auth(admin)), 422, name)


@pytest.mark.parametrize("query", [
    "from=9999-12-31T23:59:59-23:59", "to=0001-01-01T00:00:00%2B05:00",
    "from=0001-01-01T00:00:00%2B05:00",
])
def test_timestamps_outside_the_representable_range_are_refused(client, admin, query):
    name = query.split("=", 1)[0]
    assert_problem(client.get(f"/v1/tenants/330000/events?{query}", headers=auth(admin)), 422,
                   name)


def test_a_known_at_outside_the_range_is_refused(client, admin, writer, project):
    assert post(client, writer, issued("KA-1")).status_code == 201
    project()
    for stamp in ("0001-01-01T00:00:00%2B05:00", "9999-12-31T23:59:59-23:59"):
        for path in (f"/v1/records/certification/KA-1?known_at={stamp}",
                     f"/v1/tenants/330000/counts?known_at={stamp}"):
            assert_problem(client.get(path, headers=auth(admin)), 422, "known_at")


def test_a_forbidden_amendment_keeps_the_problem_type(client, token_for, admin):
    body_writer = token_for("standards-body", "330000")
    assert post(client, admin, issued("PT-1", tenant="330523")).status_code in (201, 403)
    cb = token_for("certification-body", "330000")
    assert post(client, cb, issued("PT-2", tenant="330523")).status_code == 201
    amended = envelope("record.amended", "PT-2", "2023-06-01",
                       {"changes": {"product": "x"}, "reason": "r"}, kind="certification")
    problem = assert_problem(post(client, body_writer, amended), 403)
    assert problem["type"] == "/problems/out-of-scope"
    assert problem["event_type"] == "record.amended"
    batch = client.post("/v1/events/batch", json={"events": [amended]},
                        headers=auth(body_writer))
    assert batch.status_code == 403
    entry = batch.json["forbidden"]["0"]
    assert entry["type"] == "/problems/out-of-scope" and entry["event_type"] == "record.amended"


@pytest.mark.parametrize("charset", ["GBK", "GB18030", "gb2312"])
def test_a_body_in_a_declared_chinese_charset_is_read_as_declared(client, writer, charset,
                                                                 token_for):
    """Issue 13: an office system that sends GBK says so; the registry stores the text."""
    body = issued(f"CS-{charset}", holder_=None)
    body["data"]["holder"]["name"] = "湖州丝绸之路集团有限公司"
    raw = json.dumps(body, ensure_ascii=False).encode("gb18030")
    response = client.post("/v1/events", data=raw, headers={
        **auth(writer), "Content-Type": f"application/json; charset={charset}"})
    assert response.status_code == 201, response.json
    admin = token_for("admin", "330000")
    stored = client.get(f"/v1/records/certification/CS-{charset}", headers=auth(admin)).json
    assert stored["attributes"]["holder"]["name"] == "湖州丝绸之路集团有限公司"


def test_a_utf8_byte_order_mark_is_ignored_and_an_undeclared_gbk_body_is_a_clear_400(
        client, writer):
    body = json.dumps(issued("BOM-1"), ensure_ascii=False).encode("utf-8")
    response = client.post("/v1/events", data=b"\xef\xbb\xbf" + body,
                           headers={**auth(writer), "Content-Type": "application/json"})
    assert response.status_code == 201, response.json
    gbk = json.dumps(issued("GBK-1"), ensure_ascii=False).encode("gbk")
    refused = client.post("/v1/events", data=gbk,
                          headers={**auth(writer), "Content-Type": "application/json"})
    problem = assert_problem(refused, 400)
    assert "charset=GB18030" in problem["detail"] and "Python" not in problem["detail"]
    assert "codec" not in problem["detail"]


def test_the_documented_answers_hold_for_odd_bodies_and_empty_parameters(client, writer,
                                                                         admin):
    """Finding 9: what the OpenAPI document says is what the API does."""
    from api.openapi import build_spec

    for body in ("[1, 2]", '"events"', '{"events": {}}', '{"events": [], "x": 1}'):
        problem = assert_problem(raw_post(client, writer, "/v1/events/batch", body), 422)
        assert problem["refused"] == []
    for path in ("/v1/records?tenant=", "/v1/tenants/330000/counts?known_at=",
                 "/v1/records/certification/X?known_at="):
        name = path.rsplit("?", 1)[1].rstrip("=")
        assert_problem(client.get(path, headers=auth(admin)), 422, name)
    paths = build_spec(client.application)["paths"]
    for path, method in (("/v1/events", "post"), ("/v1/events/batch", "post"),
                         ("/v1/plans/{plan_id}/targets", "post")):
        assert "429" in paths[path][method]["responses"]


@pytest.mark.parametrize("language", ["zh-CN", "zh-Hans,en;q=0.5", "zh"])
def test_problems_speak_chinese_when_the_request_asks(client, writer, language, token_for):
    """Issue 13: title, detail and field messages in Chinese for Accept-Language: zh*."""
    body = issued("ZH-1", occurred_on="2024/3/1")
    body["data"]["holder"]["uscc"] = "91330523000000001X"
    response = client.post("/v1/events", json=body,
                           headers={**auth(writer), "Accept-Language": language})
    problem = assert_problem(response, 422)
    assert problem["title"] == "请求字段无效" and problem["detail"] == "请求中有无效字段。"
    assert problem["errors"]["occurred_on"] == [
        "日期无效：请按 YYYY-MM-DD 格式填写，例如 2024-03-01。"]
    assert "统一社会信用代码" in problem["errors"]["data.holder.uscc"][0]
    assert response.headers["Content-Language"] == "zh-Hans"
    english = client.post("/v1/events", json=body, headers={**auth(writer),
                                                            "Accept-Language": "en-GB"})
    assert english.json["title"] == "Invalid input"
    county = token_for("admin", "330523")
    scope = client.get("/v1/tenants/330522", headers={**auth(county), "Accept-Language": "zh"})
    assert scope.status_code == 403
    assert scope.json["detail"] == "地区 330522 不在您的管辖范围内。"
    assert scope.json["title"] == "超出权限范围"
