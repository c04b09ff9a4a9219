"""The OpenAPI document is valid and documents every route the app serves."""

from __future__ import annotations

import re

from openapi_spec_validator import validate

from api import create_app
from api.openapi import build_spec
from api.settings import Settings


def test_the_openapi_document_is_valid_openapi_3_1():
    validate(build_spec())


def test_every_v1_route_is_documented():
    app = create_app(settings=Settings(database_url="sqlite:///unused.db"))
    routes = set()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/v1/"):
            path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
            for method in rule.methods - {"HEAD", "OPTIONS"}:
                routes.add((method.lower(), path))
    documented = {(method, path) for path, ops in build_spec()["paths"].items()
                  for method in ops}
    assert routes == documented


def test_the_docs_page_and_document_are_served(tmp_path):
    app = create_app(settings=Settings(database_url=f"sqlite:///{tmp_path}/x.db"))
    client = app.test_client()
    assert client.get("/openapi.json").json["openapi"].startswith("3.1")
    page = client.get("/docs")
    assert page.status_code == 200 and b"/v1/events" in page.data
    text = page.get_data(as_text=True)  # each event type with its payload fields
    assert "<code>certification.issued</code>: <b>holder</b>, <b>product</b>" in text
    assert "<code>certification.reinstated</code>: <i>no fields</i>" in text
