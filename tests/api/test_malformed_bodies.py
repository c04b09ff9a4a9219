"""Malformed bodies get a 4xx problem+json, never a 500, and store nothing."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.helpers import auth, issued

BAD_BODIES = [
    b"",
    b"{",
    b"[]",
    b"null",
    b"42",
    b'"text"',
    b"\xff\xfe\x00",
    b"[" * 100000 + b"]" * 100000,
    json.dumps({"id": None, "type": None, "record": None, "occurred_on": None,
                "data": None}).encode(),
    json.dumps({"id": 5, "type": 5, "record": 5, "occurred_on": 5, "data": []}).encode(),
    json.dumps({"id": "x" * 100000, "type": "y" * 100000, "record": "z" * 100000,
                "occurred_on": "2023-01-01", "data": {"a": "b" * 100000}}).encode(),
    json.dumps({**issued("M"), "expected_version": True}).encode(),
    json.dumps({**issued("M"), "expected_version": 1.5}).encode(),
    json.dumps({**issued("M"), "expected_version": -1}).encode(),
    json.dumps({**issued("M"), "expected_version": 10**30}).encode(),
    json.dumps({**issued("M"), "record": "bad\u0000key"}).encode(),
    json.dumps({**issued("M"), "record": "   "}).encode(),
    json.dumps({**issued("M"), "tenant": {"x": 1}}).encode(),
    json.dumps({**issued("M"), "occurred_on": "2023-02-30"}).encode(),
    json.dumps({**issued("M"), "data": {"holder": "not an object", "product": ["x"],
                                         "standards": "x", "valid_until": 20230101}}).encode(),
    json.dumps({**issued("M"), "data": {**issued("M")["data"],
                                         "holder": {"name": "n", "uscc": None}}}).encode(),
    json.dumps({**issued("M"), "data": {**issued("M")["data"],
                                         "standards": ["s"] * 1000}}).encode(),
]


@pytest.mark.parametrize("raw", BAD_BODIES, ids=range(len(BAD_BODIES)))
def test_a_malformed_body_is_a_problem_not_a_crash(client, token_for, raw):
    cb = token_for("certification-body", "330500")
    response = client.post("/v1/events", data=raw, headers={**auth(cb),
                                                             "Content-Type": "application/json"})
    assert 400 <= response.status_code < 500, response.get_data(as_text=True)[:500]
    assert response.mimetype == "application/problem+json"
    assert "Traceback" not in response.get_data(as_text=True)
    assert client.get("/v1/records/certification/M", headers=auth(cb)).status_code == 404


def test_an_oversized_body_is_refused_with_413(client, token_for):
    cb = token_for("certification-body", "330500")
    raw = b'{"pad": "' + b"x" * (3 * 1024 * 1024) + b'"}'
    response = client.post("/v1/events", data=raw, headers=auth(cb))
    assert response.status_code == 413
    assert response.mimetype == "application/problem+json"


def test_unknown_routes_and_methods_answer_problem_json(client):
    assert client.get("/v1/nowhere").mimetype == "application/problem+json"
    response = client.delete("/v1/events")
    assert response.status_code == 405
    assert response.mimetype == "application/problem+json"


@pytest.mark.parametrize("query", ["as_of=yesterday", "as_of=2023-02-30",
                                   "known_at=soon", "known_at=2023-01-01T00:00:00"])
def test_bad_query_parameters_are_named(client, token_for, query):
    cb = token_for("certification-body", "330500")
    assert client.post("/v1/events", json=issued("Q"), headers=auth(cb)).status_code == 201
    response = client.get(f"/v1/records/certification/Q?{query}", headers=auth(cb))
    assert response.status_code == 422
    assert query.split("=")[0] in response.json["errors"]


def test_limits_are_refused_with_a_clear_problem(client, token_for):
    cb = token_for("certification-body", "330500")
    nested = {"id": "x", "data": {}}
    inner = nested["data"]
    for _ in range(30):
        inner["x"] = {}
        inner = inner["x"]
    response = client.post("/v1/events", json=nested, headers=auth(cb))
    assert response.status_code == 400 and response.json["max_depth"] == 16
    long_query = client.get("/v1/records", query_string={"q": "x" * 201}, headers=auth(cb))
    assert long_query.status_code == 422 and "q" in long_query.json["errors"]
    big_page = client.get("/v1/records", query_string={"limit": 501}, headers=auth(cb))
    assert big_page.status_code == 422 and "limit" in big_page.json["errors"]


def _depth(value, level=1):
    """The nesting depth of a JSON value, by its definition (the document is level 1)."""
    if not isinstance(value, (dict, list)):
        return level
    children = value.values() if isinstance(value, dict) else value
    return max((_depth(child, level + 1) for child in children), default=level)


_JSON = st.recursive(st.none() | st.integers() | st.text(max_size=2),
                     lambda inner: st.lists(inner, max_size=3)
                     | st.dictionaries(st.text(max_size=2), inner, max_size=3),
                     max_leaves=40)


def _nested(depth, leaf):
    """A document `depth` levels deep, alternating objects and lists, ending in `leaf`."""
    document = leaf
    for level in range(depth - 1):
        document = {"x": document} if level % 2 else [document]
    return document


@given(_JSON)
def test_the_depth_limit_counts_levels_by_its_definition(document):
    from api.params import MAX_DEPTH, too_deep

    assert too_deep(document) == (_depth(document) > MAX_DEPTH)


@pytest.mark.parametrize("leaf", [1, "x", None, [], {}, [1], {"k": "v"}])
def test_the_depth_limit_sits_exactly_at_16_levels(leaf):
    from api.params import MAX_DEPTH, too_deep

    for depth in range(1, MAX_DEPTH + 3):
        document = _nested(depth, leaf)
        assert too_deep(document) == (_depth(document) > MAX_DEPTH), (depth, leaf)
