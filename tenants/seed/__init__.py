"""Seed data shipped with the package: the division tree, the plans' targets and measures."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any


def load(name: str) -> Any:
    """A bundled JSON file (targets.json or measures.json)."""
    return json.loads(resources.files(__name__).joinpath(name).read_text("utf-8"))


def tenants() -> list[dict[str, Any]]:
    """The 102 tenants of the seed plans (province, 11 cities, 90 counties)."""
    return load("targets.json")["tenants"]
