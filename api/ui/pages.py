"""Signing in and out, the language switch and the home redirect."""

from __future__ import annotations

from flask import g, redirect, render_template, request, session

from api.context import services
from api.throttle import before_authentication, failed_authentication
from api.ui import _url, lang, safe_next, ui_bp
from api.ui.labels import LANGS
from api.ui.sessions import DASHBOARD_ROLES, end_session, start_session


@ui_bp.get("/")
def home():
    return redirect(_url("ui.overview", code=g.scope.tenant))


@ui_bp.get("/sign-in")
def sign_in():
    return render_template("ui/sign_in.html", next=safe_next(request.args.get("next")),
                           error=None)


@ui_bp.post("/sign-in")
def sign_in_post():
    """Authenticate the posted token; the session keeps the principal, never the token."""
    token = (request.form.get("token") or "").strip()
    wanted = safe_next(request.form.get("next"))
    before_authentication()  # 429 page for an address that failed too often this minute
    principal = services().directory.authenticate(token) if token else None
    if principal is None:
        failed_authentication()
        return render_template("ui/sign_in.html", next=wanted,
                               error="unknown"), 401
    if principal.role not in DASHBOARD_ROLES:
        return render_template("ui/sign_in.html", next=wanted, error="role"), 403
    start_session(principal, token)
    return redirect(wanted or _url("ui.overview", code=principal.tenant))


@ui_bp.post("/sign-out")
def sign_out():
    end_session()
    return redirect(_url("ui.sign_in", signed_out=1))


@ui_bp.post("/language")
def set_language():
    chosen = request.form.get("lang")
    if chosen in LANGS:
        session["lang"] = chosen
    return redirect(safe_next(request.form.get("next")) or _url("ui.sign_in"))


__all__ = ["home", "lang", "set_language", "sign_in", "sign_in_post", "sign_out"]
