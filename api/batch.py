"""POST /v1/events/batch: up to 1000 envelopes, stored atomically (DESIGN.md section 3)."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any
from uuid import UUID

from flask import Blueprint, current_app

from api.apidoc import documented, reply
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

BATCH_DESCRIPTION = (
    "All envelopes are stored in one transaction, or none. Envelopes are decided in order, each "
    "against the state left by the earlier envelopes of the batch that were not refused (an "
    "issue and a suspension of the same record may share a batch). Idempotency is per "
    "envelope id: resending a whole stored batch answers 200 with the original results; a "
    "batch mixing stored and new ids is refused (409, `envelope-already-stored` at each "
    "stored index); one id twice in a batch is a 422 naming both indexes. A refused batch is "
    "one problem (`/problems/batch-refused`) listing every refused index: field errors under "
    "`errors` (index -> field -> messages), and the problem of each other refused envelope "
    "under `conflicts` (409), `forbidden` (403) or `not_found` (404). Its status is the first "
    "of 422, 409, 403, 404 that any refused envelope has. Well-formedness is checked first: a "
    "batch with malformed envelopes is answered 422 before any is checked against the state. "
    "More than 1000 envelopes: 413 (`max_events`). Body limit 16 MiB.")
REFUSED = {422: "Invalid envelopes (or body): field errors per index; nothing stored",
           409: "Envelopes in conflict with the state, ids already stored in a mixed batch; "
                "nothing stored",
           403: "Envelopes outside your scope; nothing stored",
           404: "Later events for records you cannot see; nothing stored"}


@batch.post("/events/batch")
@documented("Record up to 1000 events atomically", "postEventBatch", {
    201: reply("BatchResults", "All stored; one receipt per envelope, in order"),
    200: reply("BatchResults", "Every envelope was already stored with the same body (a "
                               "retry): the original results, nothing new"),
    **{code: reply("BatchRefused", text, "application/problem+json")
       for code, text in REFUSED.items()}},
    (400, 401, 413, 503), body="BatchRequest", description=BATCH_DESCRIPTION)
def post_batch():
    """Record up to 1000 events atomically: all stored (201, results in order), or none."""
    scope = caller_scope()
    svc = services()
    limit = current_app.config["REGISTRY_SETTINGS"].max_body_bytes * BATCH_BODY_FACTOR
    envelopes = parse_batch(json_body(max_bytes=limit), svc.registry.clock.today())
    result = svc.registry.record_batch(scope, envelopes)
    if not result.replayed:  # one increment per kind: each is a write to a shared file
        for kind, count in Counter(envelope.kind for envelope in envelopes).items():
            EVENTS_APPENDED.labels(kind).inc(count)
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
