"""Every error becomes one RFC 9457 problem+json response; nothing internal leaks."""

from __future__ import annotations

import logging

import psycopg
from eventsourcing.persistence import InterfaceError, OperationalError
from sqlalchemy.exc import OperationalError as SAOperationalError
from flask import Flask, Response, json, request
from werkzeug.exceptions import HTTPException

from api.i18n import catalogue, negotiate
from events.envelope import EnvelopeInvalid
from registry.errors import BatchRefused
from tenants.errors import InvalidInput, RegistryError

log = logging.getLogger("registry.api")
PROBLEM_BASE = "/problems/"


# Where a refused batch lists each refused index, by that envelope's own status.
BATCH_GROUPS = {422: "errors", 409: "conflicts", 403: "forbidden", 404: "not_found"}


def problem_body(status: int, slug: str, title: str, detail: str, **extra: object) -> dict:
    """An RFC 9457 problem object (absent extras left out)."""
    body = {"type": PROBLEM_BASE + slug, "title": title, "status": status, "detail": detail}
    # extras never replace the members RFC 9457 defines
    body.update({k: v for k, v in extra.items() if v is not None and k not in body})
    return body


def problem(status: int, slug: str, title: str, detail: str, **extra: object) -> Response:
    """The problem response, in Chinese when the request's Accept-Language prefers it."""
    body = problem_body(status, slug, title, detail, **extra)
    language = negotiate(request.headers.get("Accept-Language")) if request else "en"
    if language != "en":
        body = localised(body, catalogue(language))
    response = Response(json.dumps(body), status=status, mimetype="application/problem+json")
    response.headers["Content-Language"] = "zh-Hans" if language == "zh" else "en"
    response.vary.add("Accept-Language")
    return response


def localised(body: dict, messages) -> dict:
    """A problem body with its title, detail and field messages in the catalogue's language
    (the members' names and the `type` URI stay as they are)."""
    body = dict(body)
    for name in ("title", "detail"):
        if isinstance(body.get(name), str):
            body[name] = messages.text(body[name])
    if "errors" in body:
        body["errors"] = messages.errors(body["errors"])
    for group in BATCH_GROUPS.values():
        if isinstance(body.get(group), dict) and group != "errors":
            body[group] = {k: localised(v, messages) if isinstance(v, dict) else v
                           for k, v in body[group].items()}
    return body


def batch_groups(exc: BatchRefused) -> dict[str, dict[str, object]]:
    """Each refused index under its status group: field errors for 422, a problem otherwise."""
    groups: dict[str, dict[str, object]] = {}
    for index, refusal in exc.problems.items():
        group = groups.setdefault(BATCH_GROUPS.get(refusal.status, "problems"), {})
        if isinstance(refusal, InvalidInput):
            group[str(index)] = refusal.errors
        else:
            group[str(index)] = problem_body(refusal.status, refusal.slug, refusal.title,
                                             refusal.detail, **refusal.extra)
    return groups


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(RegistryError)
    def _registry_error(exc: RegistryError) -> Response:
        response = problem(exc.status, exc.slug, exc.title, exc.detail, **exc.extra)
        if getattr(exc, "retry_after", None) is not None:
            response.headers["Retry-After"] = str(exc.retry_after)
        if exc.status == 401:
            response.headers["WWW-Authenticate"] = 'Bearer realm="registry"'
        return response

    @app.errorhandler(BatchRefused)
    def _batch_refused(exc: BatchRefused) -> Response:
        return problem(exc.status, exc.slug, exc.title, exc.detail, **exc.extra,
                       **batch_groups(exc))

    @app.errorhandler(EnvelopeInvalid)
    def _invalid_envelope(exc: EnvelopeInvalid) -> Response:
        error = InvalidInput(exc.errors)
        return problem(error.status, error.slug, error.title, error.detail, errors=exc.errors)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Response:
        slug = (exc.name or "error").lower().replace(" ", "-")
        response = problem(exc.code or 500, slug, exc.name or "Error",
                           exc.description or exc.name or "")
        if exc.code == 405 and exc.valid_methods:
            response.headers["Allow"] = ", ".join(exc.valid_methods)
        return response

    @app.errorhandler(OperationalError)
    @app.errorhandler(InterfaceError)
    @app.errorhandler(SAOperationalError)
    @app.errorhandler(psycopg.OperationalError)
    def _database_down(exc: Exception) -> Response:
        log.warning("database unavailable on %s %s: %s", request.method, request.path, exc)
        response = problem(503, "database-unavailable", "Database unavailable",
                           "The database cannot be reached right now. A write whose "
                           "connection failed while it committed may have been stored: "
                           "send the same request again later, with the same envelope ids, "
                           "and the answer says what is stored.")
        response.headers["Retry-After"] = "2"
        return response

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.path)
        return problem(500, "internal-error", "Internal error",
                       "Something went wrong on our side; it has been logged.")
