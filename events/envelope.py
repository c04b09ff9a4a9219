"""The wire envelope: parsing, normalisation and field errors (DESIGN.md section 2)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from typing import Any, Mapping
from uuid import UUID

from marshmallow import Schema, ValidationError, fields, validate

from events.base import schema_of
from events.catalogue import KINDS
from events.compiled import load
from events.fields import Code, IsoDate, StrictInteger, Text

MAX_KEY_LENGTH = 200


class EnvelopeInvalid(Exception):
    """The envelope or its data failed validation; `errors` maps field paths to messages."""

    def __init__(self, errors: dict[str, list[str]]):
        super().__init__("; ".join(f"{k}: {' '.join(v)}" for k, v in errors.items()))
        self.errors = errors


class _EnvelopeSchema(Schema):
    id = fields.UUID(required=True)
    type = Text(max_length=64, required=True)
    record = Code(max_length=MAX_KEY_LENGTH, required=True)
    kind = Text(max_length=32, validate=validate.OneOf(KINDS))
    tenant = Text(max_length=12, validate=validate.Regexp(r"^\d{6}$", error="Not a tenant code."))
    occurred_on = IsoDate(required=True)
    expected_version = StrictInteger(validate=validate.Range(min=0, max=2**31))
    data = fields.Dict(required=True)


@dataclass(frozen=True)
class Envelope:
    """A validated, normalised envelope ready for a use case."""

    id: UUID
    type: str
    kind: str
    key: str
    occurred_on: dt.date
    data: dict[str, Any]
    tenant: str | None = None
    expected_version: int | None = None

    def fingerprint(self) -> str:
        """A hash of the normalised envelope: equal for a retry of the same envelope."""
        canonical = {
            "id": str(self.id),
            "type": self.type,
            "kind": self.kind,
            "record": self.key,
            "tenant": self.tenant,
            "occurred_on": self.occurred_on.isoformat(),
            "expected_version": self.expected_version,
            "data": self.data,
        }
        text = json.dumps(canonical, sort_keys=True, separators=(",", ":"),
                          ensure_ascii=False, default=str)
        return hashlib.sha256(text.encode()).hexdigest()


def flatten_errors(messages: Any, prefix: str = "") -> dict[str, list[str]]:
    """Turn marshmallow's nested error dict into `{"data.holder.uscc": [...]}`."""
    if isinstance(messages, Mapping):
        flat: dict[str, list[str]] = {}
        for name, value in messages.items():
            path = f"{prefix}.{name}" if prefix else str(name)
            if name == "_schema":
                path = prefix or "body"
            for key, msgs in flatten_errors(value, path).items():
                flat.setdefault(key, []).extend(msgs)
        return flat
    if isinstance(messages, list) and all(isinstance(m, str) for m in messages):
        return {prefix or "body": list(messages)}
    if isinstance(messages, list):
        flat = {}
        for item in messages:
            for key, msgs in flatten_errors(item, prefix).items():
                flat.setdefault(key, []).extend(msgs)
        return flat
    return {prefix or "body": [str(messages)]}


def parse_envelope(raw: Any, event_types: Mapping[str, Any], today: dt.date) -> Envelope:
    """Validate one wire envelope; raise EnvelopeInvalid with every field error at once."""
    if not isinstance(raw, Mapping):
        raise EnvelopeInvalid({"body": ["Expected a JSON object (an event envelope)."]})
    errors: dict[str, list[str]] = {}
    try:
        env = load(schema_of(_EnvelopeSchema), raw)
    except ValidationError as exc:
        errors.update(flatten_errors(exc.messages))
        env = {k: v for k, v in exc.valid_data.items()} if isinstance(exc.valid_data, dict) else {}

    type_name = env.get("type")
    event_class = event_types.get(type_name) if type_name else None
    if type_name and event_class is None:
        errors["type"] = [f"Unknown event type '{type_name}'."]

    kind = env.get("kind")
    if event_class is not None:
        if event_class.KIND:
            if kind and kind != event_class.KIND:
                errors.setdefault("kind", []).append(
                    f"Does not match the type: '{type_name}' is a '{event_class.KIND}' event."
                )
            kind = event_class.KIND
        elif not kind and "kind" not in errors:
            errors["kind"] = [f"Required for '{type_name}'."]

    occurred_on = env.get("occurred_on")
    if occurred_on is not None and occurred_on > today:
        errors.setdefault("occurred_on", []).append(
            f"Must not be in the future (today is {today.isoformat()} in Asia/Shanghai)."
        )

    data: dict[str, Any] = {}
    raw_data = raw.get("data")
    if event_class is not None and isinstance(raw_data, Mapping):
        try:
            data = load(schema_of(event_class.Payload), raw_data)
        except ValidationError as exc:
            errors.update(flatten_errors(exc.messages, "data"))
            data = exc.valid_data if isinstance(exc.valid_data, dict) else {}
        for name, messages in event_class.check_payload(data, occurred_on, kind).items():
            errors.setdefault(name, []).extend(messages)

    if errors:
        raise EnvelopeInvalid(errors)
    return Envelope(
        id=env["id"],
        type=type_name,
        kind=kind,
        key=env["record"],
        tenant=env.get("tenant"),
        occurred_on=occurred_on,
        expected_version=env.get("expected_version"),
        data=data,
    )
