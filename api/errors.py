"""Every error becomes one RFC 9457 problem+json response; nothing internal leaks."""

from __future__ import annotations

import logging

import psycopg
from eventsourcing.persistence import InterfaceError, OperationalError
from sqlalchemy.exc import OperationalError as SAOperationalError
from flask import Flask, Response, json, request
from werkzeug.exceptions import HTTPException

from events.envelope import EnvelopeInvalid
from tenants.errors import InvalidInput, RegistryError, Unavailable

log = logging.getLogger("registry.api")
PROBLEM_BASE = "/problems/"


def problem(status: int, slug: str, title: str, detail: str, **extra: object) -> Response:
    body = {"type": PROBLEM_BASE + slug, "title": title, "status": status, "detail": detail}
    body.update({k: v for k, v in extra.items() if v is not None})
    response = Response(json.dumps(body), status=status, mimetype="application/problem+json")
    return response


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(RegistryError)
    def _registry_error(exc: RegistryError) -> Response:
        response = problem(exc.status, exc.slug, exc.title, exc.detail, **exc.extra)
        if getattr(exc, "retry_after", None) is not None:
            response.headers["Retry-After"] = str(exc.retry_after)
        if exc.status == 401:
            response.headers["WWW-Authenticate"] = 'Bearer realm="registry"'
        return response

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
                           "The database cannot be reached right now; nothing was stored. "
                           "Retry the same request later.")
        response.headers["Retry-After"] = "2"
        return response

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.path)
        return problem(500, "internal-error", "Internal error",
                       "Something went wrong on our side; it has been logged.")
