"""Dashboard sessions: who is signed in, re-checked against the event log on every request.

The session is Flask's signed cookie (HttpOnly, SameSite=Lax, path /ui, Secure over https).
It never holds the token. It holds the principal's id, a *binding tag* (an HMAC keyed with
the token's stored hash, so a forged cookie needs both the app's secret and that hash from the
event store), and the sign-in time. On every request the principal's aggregate (two events at
most) is read back: a revoked principal, a tag that does not match, or a session older than
its lifetime ends the session at once.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from uuid import UUID

from flask import Flask, request, session
from flask.sessions import SecureCookieSessionInterface

from api.services import Services
from events import PrincipalAdded, PrincipalRevoked
from tenants.principals import Principal, hash_token
from tenants.scope import Scope

DASHBOARD_ROLES = ("admin", "auditor")
SESSION_HOURS = 8


class DashboardSessionInterface(SecureCookieSessionInterface):
    """The signed-cookie session, marked Secure whenever the request came over https."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(app.config["SESSION_COOKIE_SECURE"] or request.is_secure)


def binding_tag(token_hash: str) -> str:
    return hmac.new(token_hash.encode("ascii"), b"qbr-dashboard-session",
                    hashlib.sha256).hexdigest()[:32]


def start_session(principal: Principal, token: str) -> None:
    """Sign a principal in: a fresh session (no fixation), without the token."""
    lang = session.get("lang")
    session.clear()
    session.permanent = True
    session["pid"] = principal.id
    session["tag"] = binding_tag(hash_token(token))
    session["iat"] = int(time.time())
    if lang:
        session["lang"] = lang


def end_session() -> None:
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang


def live_principal(svc: Services, principal_id: str, tag: str) -> Principal | None:
    """The principal of a session when it still exists, is not revoked and the tag binds."""
    try:
        aggregate = UUID(principal_id)
    except (TypeError, ValueError):
        return None
    events = [p.event for p in svc.log.history(aggregate)]
    if not events or not isinstance(events[0], PrincipalAdded):
        return None
    added = events[0]
    if not hmac.compare_digest(binding_tag(added.token_hash), str(tag)):
        return None
    if any(isinstance(e, PrincipalRevoked) for e in events):
        return None
    return Principal(id=added.principal_id, name=added.name, role=added.role,
                     tenant=added.tenant, kinds=tuple(added.kinds))


def session_scope(svc: Services, lifetime_seconds: int) -> Scope | None:
    """The signed-in principal's scope, or None (and the session cleared)."""
    if "pid" not in session:
        return None
    issued = session.get("iat")
    principal = None
    if isinstance(issued, int) and 0 <= time.time() - issued <= lifetime_seconds:
        principal = live_principal(svc, session["pid"], session.get("tag", ""))
    if principal is None or principal.role not in DASHBOARD_ROLES:
        end_session()
        return None
    return Scope(principal, svc.directory.tree())
