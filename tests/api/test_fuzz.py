"""Fuzzing the API from its own OpenAPI document (schemathesis), authenticated as several
principals: no 5xx, every 4xx is problem+json, responses match the documented schemas.
Bounded: a few examples per operation and principal, so it runs in CI."""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.config import SchemathesisConfig
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.helpers import issued, post

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]
EXAMPLES = 12


def problem_json_for_errors(ctx, response, case):
    """Every 4xx (and 5xx) answer is RFC 9457 problem+json."""
    if response.status_code >= 400:
        content_type = response.headers.get("Content-Type") or response.headers.get(
            "content-type")
        if isinstance(content_type, list):
            content_type = content_type[0]
        assert content_type and content_type.startswith("application/problem+json"), (
            response.status_code, content_type)
        body = response.json()
        assert {"type", "title", "status", "detail"} <= set(body)
    return None


def test_the_api_survives_fuzzing_as_several_principals(app, services, token_for, project):
    cb = token_for("certification-body", "330000")
    assert post(app.test_client(), cb, issued("FUZZ-1", tenant="330523")).status_code == 201
    project()
    tokens = {"certification body": cb, "province admin": token_for("admin", "330000"),
              "county auditor": token_for("auditor", "330523"), "nobody": None}
    config = SchemathesisConfig()
    generation = config.projects.default.generation
    # Every code point schemathesis can send, NUL included (it never draws lone surrogates,
    # which only JSON escapes carry: tests/api/test_fuzz_text.py sends those).
    generation.allow_x00 = True
    generation.codec = None
    schema = schemathesis.openapi.from_wsgi("/openapi.json", app, config=config)
    failures = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 15
    for operation in operations:
        for who, token in tokens.items():
            headers = {"Authorization": f"Bearer {token}"} if token else {}

            @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
                      phases=(Phase.explicit, Phase.generate),
                      suppress_health_check=list(HealthCheck))
            @given(case=operation.as_strategy())
            def run(case):
                response = case.call(headers=headers)
                case.validate_response(response, checks=CHECKS,
                                       additional_checks=[problem_json_for_errors],
                                       headers=headers)

            try:
                run()
            except Exception as exc:  # collect, so one report lists every operation failing
                failures.append(f"{operation.label} as {who}: {exc}")
    assert not failures, "\n\n".join(failures)[:20000]
