"""Errors every use case may raise; api/errors.py maps each class to one problem+json answer."""

from __future__ import annotations


class RegistryError(Exception):
    """Base class: `detail` is safe to show to the client, `extra` adds fields to the body."""

    status = 400
    slug = "bad-request"
    title = "Bad request"

    def __init__(self, detail: str, **extra: object) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra


class InvalidInput(RegistryError):
    """Field errors (422): `errors` maps each field path to its messages."""

    status = 422
    slug = "validation-error"
    title = "Invalid input"

    def __init__(self, errors: dict, detail: str = "The request has invalid fields.") -> None:
        super().__init__(detail, errors=errors)
        self.errors = errors


class Unauthenticated(RegistryError):
    status = 401
    slug = "unauthenticated"
    title = "Authentication required"


class OutOfScope(RegistryError):
    """The tenant or kind lies outside what the principal may touch (403)."""

    status = 403
    slug = "out-of-scope"
    title = "Outside your scope"


class NotFound(RegistryError):
    status = 404
    slug = "not-found"
    title = "Not found"


class Conflict(RegistryError):
    status = 409
    slug = "conflict"
    title = "Conflict"


class Unavailable(RegistryError):
    """A dependency is not ready (503); `retry_after` seconds go in the Retry-After header."""

    status = 503
    slug = "unavailable"
    title = "Service unavailable"

    def __init__(self, detail: str, retry_after: int = 1, **extra: object) -> None:
        super().__init__(detail, **extra)
        self.retry_after = retry_after
