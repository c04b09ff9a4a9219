"""HTTP API: the Flask application factory."""

from __future__ import annotations

import os
from typing import Any, Mapping

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from api.audit_bp import audit_bp
from api.batch import batch
from api.blueprints import position_header, v1
from api.errors import register_error_handlers
from api.jsonenc import WireJSONProvider
from api.observability import configure_logging, install, metrics_response
from api.ledger_bp import ledger_bp
from api.openapi import docs
from api.params import refuse_nul_in_query
from api.ratelimit import RateLimiter
from api.plans_bp import plans_bp
from api.services import LazyServices
from api.settings import Settings
from api.subscriptions_bp import subscriptions_bp
from api.throttle import AddressLimiter
from api.ui import install_ui
from api.verify_bp import verify_bp
from registry.clock import Clock


def create_app(config: Mapping[str, Any] | None = None, *, settings: Settings | None = None,
               clock: Clock | None = None) -> Flask:
    """Build the app; settings come from the environment unless given."""
    app = Flask(__name__)
    app.json_provider_class = WireJSONProvider
    app.json = WireJSONProvider(app)
    settings = (settings or Settings.from_env()).with_overrides(config)
    app.config["REGISTRY_SETTINGS"] = settings
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes * 8
    app.extensions["registry"] = LazyServices(settings, clock)
    app.extensions["registry_rate_limiter"] = RateLimiter(settings.rate_limit,
                                                          settings.rate_burst)
    app.extensions["registry_address_limiter"] = AddressLimiter()
    proxies = int(os.environ.get("REGISTRY_TRUSTED_PROXIES") or 0)
    if proxies > 0:  # X-Forwarded-For is believed only behind proxies the operator names
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies)
    configure_logging()
    install(app)
    app.before_request(refuse_nul_in_query)
    register_error_handlers(app)
    app.register_blueprint(v1)
    app.after_request(position_header)
    app.register_blueprint(plans_bp)
    app.register_blueprint(audit_bp)
    app.register_blueprint(ledger_bp)
    app.register_blueprint(batch)
    app.register_blueprint(subscriptions_bp)
    app.register_blueprint(docs)
    app.add_url_rule("/metrics", "metrics", _metrics)
    install_ui(app, settings.extra.get("secret_key"))
    app.register_blueprint(verify_bp)
    return app


def _metrics():
    """Prometheus metrics, for operators: the bearer REGISTRY_METRICS_TOKEN when it is set,
    else clients on the loopback interface only."""
    import hmac
    import os

    from flask import current_app, request

    from api.auth import bearer_token
    from tenants.errors import OutOfScope, Unauthenticated

    expected = os.environ.get("REGISTRY_METRICS_TOKEN")
    if expected:
        given = bearer_token() or ""
        if not hmac.compare_digest(given.encode(), expected.encode()):
            raise Unauthenticated("Send the metrics token as a bearer token.")
    elif request.remote_addr not in ("127.0.0.1", "::1", None):
        raise OutOfScope("Metrics are served to loopback clients (or set "
                         "REGISTRY_METRICS_TOKEN).")
    return metrics_response(current_app.extensions["registry"].get)
