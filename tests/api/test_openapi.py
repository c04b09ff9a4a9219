"""The OpenAPI document is generated from the routes (api.apidoc): it is valid, it holds every
route the app serves with the parameters the route reads and the answers it gives, and the
routes read the parameters it documents."""

from __future__ import annotations

import re

import pytest
from openapi_spec_validator import validate

from api.openapi import build_spec
from tests.helpers import auth

# A value each documented query parameter refuses (422 naming it), by its schema type.
REFUSED = {"date": "2024-13-45", "date-time": "not-a-time", "integer": "x1"}


def app_routes(app) -> set[tuple[str, str]]:
    routes = set()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/v1/"):
            path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
            routes |= {(m.lower(), path) for m in rule.methods - {"HEAD", "OPTIONS"}}
    return routes


def test_the_openapi_document_is_valid_openapi_3_1(app):
    validate(build_spec(app))


def test_every_v1_route_is_documented_with_its_path_parameters_and_answers(app):
    paths = build_spec(app)["paths"]
    assert app_routes(app) == {(m, p) for p, ops in paths.items() for m in ops}
    for path, operations in paths.items():
        wanted = set(re.findall(r"\{(\w+)\}", path))
        for method, operation in operations.items():
            parameters = operation.get("parameters", [])
            assert {p["name"] for p in parameters if p["in"] == "path"} == wanted, path
            codes = set(operation["responses"])
            assert "429" in codes and any(c.startswith("2") for c in codes), path
            if operation["security"]:  # every authenticated route says what no token gets
                assert "401" in codes, path
            if any(p["in"] == "query" for p in parameters):
                assert "422" in codes, path


def test_each_documented_query_parameter_is_read_by_its_route(app, client, token_for):
    """Generated from the same declaration the route parses with: a value of the wrong
    type for any documented parameter is refused by name."""
    admin = token_for("admin", "330000")
    checked = 0
    for path, operations in build_spec(app)["paths"].items():
        if "get" not in operations:
            continue
        url = re.sub(r"\{(\w+)\}", lambda m: {"kind": "certification", "key": "X",
                                              "code": "330000", "plan_id": "p",
                                              "subscription_id": "s"}[m.group(1)],
                     path)
        for parameter in operations["get"].get("parameters", []):
            schema = parameter["schema"]
            bad = REFUSED.get(schema.get("format") or schema["type"])
            if parameter["in"] != "query" or bad is None:
                continue
            query = {parameter["name"]: bad, "plan": "zhejiang-14th-fyp"}
            if parameter["name"] == "plan":
                continue
            response = client.get(url, query_string=query, headers=auth(admin))
            assert response.status_code == 422, (path, parameter["name"], response.json)
            assert parameter["name"] in response.json["errors"], (path, response.json)
            checked += 1
    assert checked > 30


@pytest.mark.parametrize("path, names", [
    ("/v1/tenants/{code}/counts", {"as_of", "known_at", "min_position"}),
    ("/v1/records", {"kind", "tenant", "status", "holder", "q", "include_voided",
                     "valid_until_from", "valid_until_to", "limit", "cursor", "min_position"}),
    ("/v1/tenants/{code}/events", {"kind", "type", "actor", "record", "from", "to",
                                   "occurred_from", "occurred_to", "order", "after",
                                   "before", "limit", "min_position"}),
    ("/v1/tenants/{code}/progress", {"plan", "as_of", "min_position"}),
])
def test_the_query_parameters_are_those_the_routes_declare(app, path, names):
    operation = build_spec(app)["paths"][path]["get"]
    assert {p["name"] for p in operation["parameters"] if p["in"] == "query"} == names


def test_the_docs_page_and_document_are_served(client):
    assert client.get("/openapi.json").json["openapi"].startswith("3.1")
    page = client.get("/docs")
    assert page.status_code == 200 and b"/v1/events" in page.data
    text = page.get_data(as_text=True)  # each event type with its payload fields
    assert "<code>certification.issued</code>: <b>holder</b>, <b>product</b>" in text
    assert "<code>certification.reinstated</code>: <i>no fields</i>" in text
    assert "<code>boutique.listed</code>: <b>holder</b>, <b>product</b>, <b>list_year</b>" in text
