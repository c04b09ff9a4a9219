"""Who is calling: the bearer token becomes a Scope for the use cases."""

from __future__ import annotations

from flask import current_app, g, request

from api.context import services
from api.throttle import before_authentication, failed_authentication
from tenants.errors import Unauthenticated
from tenants.scope import Scope


def bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def caller_scope() -> Scope:
    """The scope of the authenticated principal; 401 without a live token."""
    if "scope" in g:
        return g.scope
    token = bearer_token()
    if token is None:
        raise Unauthenticated("Send 'Authorization: Bearer <token>'.")
    svc = services()
    before_authentication()
    principal = svc.directory.authenticate(token)
    if principal is None:
        failed_authentication()
        raise Unauthenticated("The token is unknown or revoked.")
    current_app.extensions["registry_rate_limiter"].check(principal.id)
    g.scope = Scope(principal, svc.directory.tree())
    return g.scope
