"""Hostile text in every documented input (issue 14, finding 3). Schemathesis never draws lone
surrogates (they cannot be sent as UTF-8, only as JSON escapes), so this sweep walks the
OpenAPI document itself: NUL and invalid UTF-8 in every query and path parameter, and a lone
surrogate and a NUL in every string of every documented JSON body. No answer may be a 5xx,
and every refusal is problem+json."""

from __future__ import annotations

import copy
import json
import re

import pytest

from api.openapi import build_spec
from tests.helpers import auth, issued

HOSTILE_PARAMS = ["a%00b", "%ED%A0%80", "%FF%FE", "%C0%AF"]
HOSTILE_TEXT = ["x\ud800", "\udfffx", "a\x00b", "\u202eabc", "\ufeff"]
PATH_VALUES = {"code": "330000", "kind": "certification", "key": "FZ-1",
               "plan_id": "zhejiang-14th-fyp", "principal_id": "x"}
BODIES = {
    "/v1/events": lambda: issued("FZ-2"),
    "/v1/events/batch": lambda: {"events": [issued("FZ-3")]},
    "/v1/plans/{plan_id}/targets": lambda: {"tenant": "330000",
                                            "indicator": "pinzibiao_enterprises",
                                            "target": {"value": 3}, "reason": "r"},
    "/v1/plans/{plan_id}/openings": lambda: {"tenant": "330000",
                                             "indicator": "pinzibiao_enterprises",
                                             "value": 3, "on": "2020-12-31", "note": "n"},
    "/v1/tenants/{code}/openings": lambda: {"measure": "pinzibiao_enterprises", "value": 3,
                                            "on": "2020-12-31", "source": "s"},
}


def operations(app):
    for path, methods in build_spec(app)["paths"].items():
        for method, operation in methods.items():
            yield path, method, operation


def concrete(path: str, override: dict[str, str] | None = None) -> str:
    values = {**PATH_VALUES, **(override or {})}
    return re.sub(r"\{(\w+)\}", lambda m: values.get(m.group(1), "x"), path)


def string_paths(value, prefix=()):
    if isinstance(value, str):
        yield prefix
    elif isinstance(value, dict):
        for key, child in value.items():
            yield from string_paths(child, (*prefix, key))
    elif isinstance(value, list):
        for n, child in enumerate(value):
            yield from string_paths(child, (*prefix, n))


def replaced(document, path, text):
    document = copy.deepcopy(document)
    target = document
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = text
    return document


def check(response, where):
    assert response.status_code < 500, (where, response.status_code,
                                        response.get_data(as_text=True)[:500])
    if response.status_code >= 400 and response.mimetype != "text/html":
        assert response.mimetype == "application/problem+json", where


@pytest.fixture
def callers(token_for, plans_loaded):
    return {"admin": token_for("admin", "330000"),
            "writer": token_for("certification-body", "330000")}


def test_hostile_query_and_path_parameters_never_give_a_5xx(client, callers):
    sent = 0
    for path, method, operation in operations(client.application):
        if method != "get":
            continue
        names = [p["name"] for p in operation.get("parameters", []) if p["in"] == "query"]
        for token in callers.values():
            for bad in HOSTILE_PARAMS:
                for name in names:
                    url = f"{concrete(path)}?{name}={bad}"
                    check(client.get(url, headers=auth(token)), url)
                    sent += 1
                for name in re.findall(r"\{(\w+)\}", path):
                    url = concrete(path, {name: bad})
                    check(client.get(url, headers=auth(token)), url)
                    sent += 1
    assert sent > 300


def test_hostile_text_in_every_string_of_every_body_is_refused_not_a_5xx(client, callers):
    documented = {path for path, method, _ in operations(client.application)
                  if method == "post"}
    assert set(BODIES) <= documented
    sent = 0
    for path, make in BODIES.items():
        url = concrete(path)
        base = make()
        for field in string_paths(base):
            for text in HOSTILE_TEXT:
                body = json.dumps(replaced(base, field, text))
                response = client.post(url, data=body, headers={
                    **auth(callers["admin"]), "Content-Type": "application/json"})
                check(response, (url, field, text))
                sent += 1
                if text in ("x\ud800", "\udfffx", "a\x00b"):
                    assert 400 <= response.status_code < 500, (url, field, text)
    assert sent > 100
