"""The dashboard (issue 7): HTML pages under /ui, served by the same app, working offline.

Every page needs a signed-in admin or auditor; every form that changes something carries a
CSRF token (Flask-WTF); every response carries a strict Content-Security-Policy (no inline
script or style: the one stylesheet is a file served from /ui/static).
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlsplit

from eventsourcing.persistence import InterfaceError, OperationalError
from flask import Blueprint, Flask, current_app, g, redirect, render_template, request, session
from flask_wtf.csrf import CSRFError, CSRFProtect
from sqlalchemy.exc import OperationalError as SQLAlchemyOperationalError
from werkzeug.exceptions import HTTPException

from api.context import services
from api.ui import labels
from api.ui.secret import load_secret
from api.ui.sessions import SESSION_HOURS, DashboardSessionInterface, session_scope
from registry.clock import SHANGHAI
from tenants.errors import RegistryError, Unauthenticated

ui_bp = Blueprint("ui", __name__, url_prefix="/ui", template_folder="templates",
                  static_folder="static", static_url_path="/static")
csrf = CSRFProtect()
PUBLIC_ENDPOINTS = frozenset({"ui.sign_in", "ui.sign_in_post", "ui.static", "ui.set_language"})
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self' data:; "
                               "font-src 'self'; form-action 'self'; frame-ancestors 'none'; "
                               "base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
}


def install_ui(app: Flask, secret: str | None = None) -> None:
    """Register the dashboard: session secret, cookie policy, CSRF, pages."""
    app.secret_key = secret or load_secret()
    app.session_interface = DashboardSessionInterface()
    app.config.update(
        SESSION_COOKIE_NAME="qbr_session", SESSION_COOKIE_PATH="/ui",
        SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax",
        PERMANENT_SESSION_LIFETIME=dt.timedelta(hours=SESSION_HOURS),
        # Only the dashboard's own forms are checked; the /v1 API uses bearer tokens.
        WTF_CSRF_CHECK_DEFAULT=False, WTF_CSRF_TIME_LIMIT=None)
    csrf.init_app(app)
    from api.ui import pages, views  # noqa: F401  (routes register on import)

    app.register_blueprint(ui_bp)
    app.add_url_rule("/", "dashboard_root", lambda: redirect("/ui/"))


def safe_next(target: str | None) -> str | None:
    """A local dashboard path to return to after sign-in, never another site."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path.startswith("/ui/") or "\\" in target:
        return None
    return target


@ui_bp.before_request
def guard():
    if not current_app.secret_key:
        return ("<!doctype html><title>Dashboard not configured</title><h1>503 · Dashboard "
                "not configured</h1><p>Run <code>registry init</code> (it creates "
                "registry-secret.key) or set REGISTRY_SECRET_KEY.</p>", 503)
    if request.endpoint == "ui.static":
        return None
    if request.method == "POST":
        csrf.protect()
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    lifetime = int(current_app.permanent_session_lifetime.total_seconds())
    scope = session_scope(services(), lifetime)
    if scope is None:
        wanted = request.full_path.rstrip("?") if request.method == "GET" else None
        return redirect(_url("ui.sign_in", next=safe_next(wanted)))
    g.scope = scope
    return None


@ui_bp.after_request
def security_headers(response):
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    if request.endpoint != "ui.static":
        response.headers["Cache-Control"] = "no-store"
    return response


def _url(endpoint: str, **values: Any) -> str:
    from flask import url_for

    return url_for(endpoint, **{k: v for k, v in values.items() if v not in (None, "")})


def lang() -> str:
    chosen = session.get("lang")
    return chosen if chosen in labels.LANGS else "both"


@ui_bp.app_template_filter("local_time")
def local_time(moment: Any) -> str:
    """A UTC time (or its ISO text) as Asia/Shanghai wall-clock time."""
    if isinstance(moment, str):
        try:
            moment = dt.datetime.fromisoformat(moment.replace("Z", "+00:00"))
        except ValueError:
            return moment
    if not isinstance(moment, dt.datetime):
        return "" if moment is None else str(moment)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    return moment.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S")


@ui_bp.app_template_filter("num")
def number(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.1f}"
    if isinstance(value, (int, float)):
        return f"{int(value):,}"
    return str(value)


@ui_bp.context_processor
def template_helpers() -> dict[str, Any]:
    current = lang()
    return {
        "lang": current, "scope": g.get("scope"), "url": _url,
        "L": lambda key: labels.lookup(labels.CHROME, key, current),
        "T": lambda key: labels.plain(labels.CHROME.get(key), current),
        "kind_label": lambda key: labels.lookup(labels.KINDS, key, current),
        "state_label": lambda key: labels.lookup(labels.STATES, key, current),
        "status_label": lambda key: labels.lookup(labels.STATUSES, key, current),
        "reason_label": lambda key: labels.lookup(labels.REASONS, key, current),
        "reason_text": lambda key: labels.plain(labels.REASONS.get(key), current) or key,
        "is_reason_code": lambda key: key in labels.REASONS,
        "type_label": lambda key: labels.lookup(labels.EVENT_TYPES, key, current),
        "field_label": lambda key: labels.lookup(labels.FIELDS, key, current),
        "role_label": lambda key: labels.lookup(labels.ROLES, key, current),
        "both": lambda zh, en: labels.label((zh or "", en or ""), current),
        "both_text": lambda zh, en: labels.plain((zh, en), current),
    }


STATUS_ZH = {400: "请求无效", 401: "需要登录", 403: "无权访问", 404: "未找到", 409: "冲突",
             422: "参数无效", 500: "内部错误", 503: "暂不可用"}


def error_page(status: int, title: str, detail: str):
    return render_template("ui/error.html", status=status, title=title, detail=detail,
                           title_zh=STATUS_ZH.get(status, "")), status


@ui_bp.errorhandler(RegistryError)
def registry_error(exc: RegistryError):
    if isinstance(exc, Unauthenticated):
        return redirect(_url("ui.sign_in"))
    detail = exc.detail
    errors = getattr(exc, "errors", None)
    if errors:
        detail += " " + "; ".join(f"{k}: {' '.join(map(str, v))}" for k, v in errors.items())
    return error_page(exc.status, exc.title, detail)


@ui_bp.errorhandler(CSRFError)
def csrf_error(exc: CSRFError):
    return error_page(400, "Form expired or forged",
                      f"{exc.description} Reload the page and try again.")


@ui_bp.errorhandler(HTTPException)
def http_error(exc: HTTPException):
    return error_page(exc.code or 500, exc.name or "Error", exc.description or "")


@ui_bp.errorhandler(OperationalError)
@ui_bp.errorhandler(InterfaceError)
@ui_bp.errorhandler(SQLAlchemyOperationalError)
def database_down(exc: Exception):
    current_app.logger.warning("database unavailable on %s %s: %s", request.method,
                               request.path, exc)
    response, status = error_page(503, "Database unavailable",
                                  "The database cannot be reached right now; retry shortly.")
    return response, status, {"Retry-After": "2"}


@ui_bp.errorhandler(Exception)
def unexpected(exc: Exception):
    current_app.logger.exception("unhandled error on %s %s", request.method, request.path)
    return error_page(500, "Internal error", "Something went wrong on our side; it has been "
                                             "logged.")
