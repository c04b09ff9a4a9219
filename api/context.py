"""Access to this process's services from a request."""

from __future__ import annotations

from flask import current_app

from api.services import Services


def services() -> Services:
    return current_app.extensions["registry"].get()
