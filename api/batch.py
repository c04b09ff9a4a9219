"""POST /v1/events/batch: up to 1000 envelopes, stored atomically (DESIGN.md section 3)."""

from __future__ import annotations

import datetime as dt
from typing import Any
from uuid import UUID

from flask import Blueprint, current_app

from api.auth import caller_scope
from api.context import services
from api.observability import EVENTS_APPENDED
from api.params import json_body
from events import EVENT_TYPES
from events.envelope import Envelope, EnvelopeInvalid, parse_envelope
from registry.batch import MAX_BATCH, duplicate_ids
from registry.errors import BatchRefused, BatchTooLarge
from tenants.errors import InvalidInput, RegistryError

# A batch body may be this many times larger than a single event's (2 MiB -> 16 MiB).
BATCH_BODY_FACTOR = 8

batch = Blueprint("batch", __name__, url_prefix="/v1")


@batch.post("/events/batch")
def post_batch():
    """Record up to 1000 events atomically: all stored (201, results in order), or none."""
    scope = caller_scope()
    svc = services()
    limit = current_app.config["REGISTRY_SETTINGS"].max_body_bytes * BATCH_BODY_FACTOR
    envelopes = parse_batch(json_body(max_bytes=limit), svc.registry.clock.today())
    result = svc.registry.record_batch(scope, envelopes)
    if not result.replayed:
        for envelope in envelopes:
            EVENTS_APPENDED.labels(envelope.kind).inc()
    return result.as_json(), 200 if result.replayed else 201


def parse_batch(body: Any, today: dt.date) -> list[Envelope]:
    """The batch's envelopes; every malformed envelope is reported by its index at once."""
    if not isinstance(body, dict):
        raise BodyRefused({"body": ['Expected a JSON object {"events": [...]}.']})
    unknown = {name: ["Unknown field."] for name in body if name != "events"}
    if unknown:
        raise BodyRefused(unknown)
    raw = body.get("events")
    if not isinstance(raw, list) or not raw:
        raise BodyRefused({"events": [f"Expected a list of 1 to {MAX_BATCH} envelopes."]})
    if len(raw) > MAX_BATCH:
        raise BatchTooLarge(len(raw), MAX_BATCH)
    envelopes: list[Envelope | None] = []
    problems: dict[int, RegistryError] = {}
    for index, item in enumerate(raw):
        try:
            envelopes.append(parse_envelope(item, EVENT_TYPES, today))
        except EnvelopeInvalid as exc:
            envelopes.append(None)
            problems[index] = InvalidInput(exc.errors)
    ids = [envelope.id if envelope else _raw_id(item) for envelope, item in zip(envelopes, raw)]
    for index, errors in duplicate_ids(ids).items():
        previous = problems[index].errors if index in problems else {}
        problems[index] = InvalidInput({**previous, **errors})
    if problems:
        raise BatchRefused(problems, len(raw))
    return envelopes  # type: ignore[return-value]  # no None left when nothing was refused


class BodyRefused(InvalidInput):
    """The batch body itself is not a batch: a 422 refusing every envelope (`refused` is
    empty, as no index could be read), in the shape of every refused batch."""

    def __init__(self, errors: dict) -> None:
        super().__init__(errors, "The body is not a batch; nothing was stored.")
        self.extra["refused"] = []


def _raw_id(item: Any) -> UUID | None:
    """The id of an envelope that failed validation, when it is still a readable UUID."""
    try:
        return UUID(item["id"])
    except (TypeError, KeyError, ValueError, AttributeError):
        return None
