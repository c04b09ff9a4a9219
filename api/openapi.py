"""The OpenAPI 3.1 document (/openapi.json), built from the app's routes (api.apidoc), and a
readable page (/docs), both offline."""

from __future__ import annotations

import html
from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Blueprint, Flask, Response, current_app, jsonify

from api.apidoc import operation_paths
from api.openapi_schemas import components
from api.query import openapi_attributes
from events import EVENT_TYPES

docs = Blueprint("docs", __name__)


def build_spec(app: Flask | None = None) -> dict[str, Any]:
    """The document of `app` (the current one by default), built once per app."""
    app = app or current_app._get_current_object()
    found = app.extensions.get("openapi")
    if found is None:
        plugin = MarshmallowPlugin()
        spec = APISpec(
            title="Quality Brand Registry", version="1.0.0", openapi_version="3.1.0",
            plugins=[plugin],
            info={"description": "Lifecycle events of Zhejiang's quality-brand programmes, "
                                 "counts and plan progress. Errors are RFC 9457 "
                                 "problem+json."})
        plugin.converter.add_attribute_function(openapi_attributes)
        components(spec)
        spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
        found = spec.to_dict()
        found["paths"] = operation_paths(app, plugin)
        found["security"] = [{"bearer": []}]
        app.extensions["openapi"] = found
    return found


@docs.get("/openapi.json")
def openapi_json():
    return jsonify(build_spec())


def _payload_fields(cls) -> str:
    """An event type's `data` fields, from its marshmallow schema: required ones in bold."""
    fields = cls.Payload().fields
    names = [f"<b>{html.escape(n)}</b>" if f.required else html.escape(n)
             for n, f in fields.items()]
    return ", ".join(names) or "<i>no fields</i>"


@docs.get("/docs")
def docs_page():
    """A plain HTML rendering of the OpenAPI document (no CDN, no script)."""
    spec = build_spec()
    rows = []
    for path, operations in spec["paths"].items():
        for method, op in operations.items():
            codes = ", ".join(sorted(op.get("responses", {})))
            params = ", ".join(p["name"] for p in op.get("parameters", []))
            rows.append(f"<tr><td><code>{method.upper()}</code></td><td><code>"
                        f"{html.escape(path)}</code></td><td>{html.escape(op.get('summary', ''))}"
                        f"</td><td>{html.escape(params)}</td><td>{codes}</td></tr>")
    types = "".join(f"<li><code>{html.escape(t)}</code>: {_payload_fields(cls)}</li>"
                    for t, cls in EVENT_TYPES.items())
    page = f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Quality Brand Registry API</title>
<style>body{{font-family:system-ui,sans-serif;margin:2rem;max-width:70rem}}
table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:.3rem .6rem;text-align:left}}
</style></head><body><h1>Quality Brand Registry API</h1>
<p>Machine-readable document: <a href="/openapi.json">/openapi.json</a>.
Send <code>Authorization: Bearer &lt;token&gt;</code>. Errors are RFC 9457
<code>application/problem+json</code>.</p>
<table><tr><th>method</th><th>path</th><th>what</th><th>parameters</th><th>responses</th></tr>
{''.join(rows)}</table><h2>Event types and their <code>data</code> fields</h2>
<p>Required fields in bold; the JSON schemas are in the document's components.</p>
<ul>{types}</ul></body></html>"""
    return Response(page, mimetype="text/html")
