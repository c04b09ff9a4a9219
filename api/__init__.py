"""HTTP API: the Flask application factory."""

from __future__ import annotations

from typing import Any, Mapping

from flask import Flask

from api.audit_bp import audit_bp
from api.blueprints import position_header, v1
from api.errors import register_error_handlers
from api.jsonenc import WireJSONProvider
from api.openapi import docs
from api.plans_bp import plans_bp
from api.services import LazyServices
from api.settings import Settings
from api.ui import install_ui
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
    register_error_handlers(app)
    app.register_blueprint(v1)
    app.after_request(position_header)
    app.register_blueprint(plans_bp)
    app.register_blueprint(audit_bp)
    app.register_blueprint(docs)
    install_ui(app, settings.extra.get("secret_key"))
    return app
