"""Routes describe themselves: `@documented(...)` on a view declares its summary, query
parameters (a api.query schema, which also parses them: `query_args()`), request body,
answers and problems; `operation_paths(app)` builds the OpenAPI paths from the app's own
url_map, so a route cannot be served undocumented or documented with parameters it does not
read (tests/api/test_openapi.py).

apispec (with its marshmallow plugin) converts the schemas; webargs parses the query. The
response bodies are JSON Schema components (api.openapi_schemas): the read models answer
with plain dicts, and serialising every answer through marshmallow would cost the read path
for nothing a client sees.
"""

from __future__ import annotations

import copy
import functools
import re
from dataclasses import dataclass
from typing import Any, Callable

from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Flask, current_app, request
from webargs.flaskparser import FlaskParser

from api.exports import XLSX_MIME
from api.query import QuerySchema
from events import KINDS
from tenants.errors import InvalidInput

PROBLEM = {"$ref": "#/components/schemas/Problem"}
PROBLEM_TEXT = {
    400: "Malformed body", 401: "No or bad token", 403: "Outside your scope",
    404: "Not found (or not visible to you)", 409: "Conflict with the current state",
    413: "Body too large", 422: "Invalid fields", 503: "Not ready (the database is "
    "unreachable, the projections have not reached min_position, or the read models are "
    "being rebuilt after an upgrade); retry after the Retry-After header"}
TOO_MANY = {"description": "Too many requests (per principal, or per client address before "
                           "authentication and on public endpoints); retry after Retry-After",
            "headers": {"Retry-After": {"schema": {"type": "integer"}}},
            "content": {"application/problem+json": {"schema": PROBLEM}}}
POSITION_HEADER = {"X-Registry-Position": {
    "description": "The log position the read models reflected for this answer.",
    "schema": {"type": "integer"}}}

# Path parameters by name, the same wherever they appear.
PATH_PARAMS = {
    "kind": {"schema": {"type": "string", "enum": list(KINDS)}},
    "key": {"description": "The record's key, URL-encoded ('/' as %2F).",
            "schema": {"type": "string", "minLength": 1, "maxLength": 200}},
    "code": {"schema": {"type": "string", "pattern": "^[0-9]{6}$"}},
    "plan_id": {"schema": {"type": "string"}},
    "subscription_id": {"schema": {"type": "string"}},
}


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def reply(schema: dict | str, description: str = "OK", media: str = "application/json",
          projected: bool = False) -> dict[str, Any]:
    """One documented answer; `projected`: served from the read models (position header)."""
    body = {"description": description,
            "content": {media: {"schema": ref(schema) if isinstance(schema, str) else schema}}}
    if projected:
        body["headers"] = POSITION_HEADER
    return body


def text_reply(media: str, description: str) -> dict[str, Any]:
    return reply({"type": "string"}, description, media)


@dataclass(frozen=True)
class Operation:
    summary: str
    id: str
    answers: dict[int, dict[str, Any]]
    problems: tuple[int, ...] = ()
    query: type[QuerySchema] | None = None
    body: str | None = None  # a component schema
    public: bool = False
    description: str | None = None


def documented(summary: str, id: str, answers: dict[int, dict[str, Any]],
               problems: tuple[int, ...] = (), **options: Any) -> Callable:
    """Declare a view's OpenAPI operation (see Operation for the options)."""
    operation = Operation(summary, id, answers, problems, **options)

    def declare(view: Callable) -> Callable:
        view.openapi = operation
        return view

    return declare


class _Parser(FlaskParser):
    DEFAULT_VALIDATION_STATUS = 422

    def handle_error(self, error, req, schema, *, error_status_code, error_headers):
        messages = error.messages
        if isinstance(messages, dict) and set(messages) <= {"query", "json", "view_args"}:
            messages = {k: v for inner in messages.values() for k, v in inner.items()}
        raise InvalidInput(messages)


_parser = _Parser()


@functools.cache
def _schema(cls: type[QuerySchema]) -> QuerySchema:
    return cls()


def query_args(schema: type[QuerySchema] | None = None) -> dict[str, Any]:
    """The request's query, parsed by the schema its route declares (once per request), or
    by `schema` (the dashboard's pages, which the API document does not describe)."""
    found = request.environ.get(QUERY_ARGS)
    if found is None:
        if schema is None:
            schema = current_app.view_functions[request.endpoint].openapi.query
        found = request.environ[QUERY_ARGS] = _parser.parse(_schema(schema), request,
                                                            location="query")
    return found


QUERY_ARGS = "registry.query_args"


def _parameters(rule_path: str, operation: Operation, plugin: MarshmallowPlugin) -> list[dict]:
    found = [{"name": name, "in": "path", "required": True, **PATH_PARAMS[name]}
             for name in re.findall(r"<(?:\w+:)?(\w+)>", rule_path)]
    if operation.query is not None:
        query = plugin.converter.schema2parameters(_schema(operation.query), location="query")
        for parameter in query:  # "absent" is not a value to document
            if parameter["schema"].get("default", 0) is None:
                del parameter["schema"]["default"]
        found += query
    return found


def _operation(rule_path: str, operation: Operation, plugin: MarshmallowPlugin) -> dict:
    document: dict[str, Any] = {"summary": operation.summary, "operationId": operation.id,
                                "security": [] if operation.public else [{"bearer": []}]}
    if operation.description:
        document["description"] = operation.description
    parameters = _parameters(rule_path, operation, plugin)
    if parameters:
        document["parameters"] = parameters
    if operation.body:
        document["requestBody"] = {"required": True, "content": {
            "application/json": {"schema": ref(operation.body)}}}
    responses = {str(code): answer for code, answer in operation.answers.items()}
    for code in operation.problems:
        responses.setdefault(str(code), {
            "description": PROBLEM_TEXT[code],
            "content": {"application/problem+json": {"schema": PROBLEM}}})
    responses.setdefault("429", TOO_MANY)
    document["responses"] = responses
    return document


def _excel_twin(document: dict) -> dict:
    """The .xlsx twin of a CSV or JSON Lines export: same parameters, a workbook."""
    twin = copy.deepcopy(document)
    twin["operationId"] += "Xlsx"
    twin["summary"] += " (Excel .xlsx: text cells for codes, dates as dates)"
    twin["responses"]["200"] = {"description": "An Excel workbook", "content": {
        XLSX_MIME: {"schema": {"type": "string", "format": "binary"}}}}
    return twin


def operation_paths(app: Flask, plugin: MarshmallowPlugin) -> dict[str, dict[str, Any]]:
    """The OpenAPI paths of every /v1 route of the app, from the routes' declarations."""
    paths: dict[str, dict[str, Any]] = {}
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if not rule.rule.startswith("/v1/"):
            continue
        operation = getattr(app.view_functions[rule.endpoint], "openapi", None)
        if operation is None:
            raise LookupError(f"{rule.rule} ({rule.endpoint}) is not @documented")
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
        document = _operation(rule.rule, operation, plugin)
        if rule.rule.endswith(".xlsx"):
            document = _excel_twin(document)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            paths.setdefault(path, {})[method.lower()] = document
    return paths
