"""The public verification page a QR code on a product points to (issue 17): HTML in Chinese
and English, no token, no script, the dashboard's Content-Security-Policy; the QR code of the
page as SVG (segno); and the public search of /v1/public/records."""

from __future__ import annotations

import io

from flask import Blueprint, Response, render_template, url_for

from api.context import services
from api.throttle import public_request
from api.ui import SECURITY_HEADERS
from api.ui.labels import KINDS as KIND_LABELS
from api.ui.labels import STATES as STATE_LABELS
from events import KINDS
from events.text import normalise_key
from registry.errors import RecordNotFound
from registry.verification import public_view

verify_bp = Blueprint("verify", __name__, template_folder="ui/templates")
verify_bp.before_request(public_request)


@verify_bp.after_request
def _headers(response: Response) -> Response:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    response.headers.setdefault("Cache-Control", "no-store")
    return response


def _view(kind: str, key: str) -> dict:
    if kind not in KINDS:
        raise RecordNotFound(kind, key)
    svc = services()
    return public_view(svc.log, kind, normalise_key(key), svc.registry.clock.today())


@verify_bp.get("/verify/<kind>/<path:key>")
def verify_page(kind: str, key: str):
    """A record's public facts, for a consumer or a buyer who scanned its QR code."""
    try:
        view = _view(kind, key)
    except RecordNotFound:
        return render_template("ui/verify.html", view=None, kind=kind, key=key,
                               kinds=KIND_LABELS, states=STATE_LABELS), 404
    return render_template("ui/verify.html", view=view, kind=kind, key=key, kinds=KIND_LABELS,
                           states=STATE_LABELS,
                           qr=url_for("verify.verify_qr", kind=kind, key=view["record"]))


@verify_bp.get("/verify/<kind>/<path:key>/qr.svg")
def verify_qr(kind: str, key: str):
    """The QR code of the verification page's address, to print on packaging."""
    import segno

    view = _view(kind, key)
    target = url_for("verify.verify_page", kind=kind, key=view["record"], _external=True)
    buffer = io.BytesIO()
    segno.make(target, error="m").save(buffer, kind="svg", scale=4, border=4,
                                       title=f"{view['record']}")
    return Response(buffer.getvalue(), mimetype="image/svg+xml",
                    headers={"X-QR-Target": target})


def public_url(kind: str, key: str) -> str:
    """The absolute address of a record's verification page."""
    return url_for("verify.verify_page", kind=kind, key=key, _external=True)
