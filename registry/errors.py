"""Errors of the record use cases."""

from __future__ import annotations

from tenants.errors import Conflict, InvalidInput, NotFound


class RecordNotFound(NotFound):
    slug = "record-not-found"
    title = "Record not found"

    def __init__(self, kind: str, key: str) -> None:
        super().__init__(f"No {kind} record '{key}' that you can see.", kind=kind, record=key)


class RecordExists(Conflict):
    slug = "record-exists"
    title = "Record already exists"

    def __init__(self, kind: str, key: str) -> None:
        super().__init__(f"The {kind} record '{key}' already exists; creating types cannot be "
                         "posted for it.", kind=kind, record=key)


class IllegalTransition(Conflict):
    """The event type is not allowed from the record's current state."""

    slug = "illegal-transition"
    title = "Transition not allowed"

    def __init__(self, kind: str, key: str, state: str, event_type: str,
                 allowed: list[str]) -> None:
        super().__init__(
            f"'{event_type}' is not allowed while the {kind} record '{key}' is '{state}'. "
            f"Allowed: {', '.join(allowed) or 'none'}.",
            kind=kind, record=key, state=state, allowed_types=allowed)


class VersionConflict(Conflict):
    slug = "version-conflict"
    title = "Version conflict"

    def __init__(self, kind: str, key: str, expected: int, current: int) -> None:
        super().__init__(f"Expected version {expected} but the record is at version {current}.",
                         kind=kind, record=key, expected_version=expected,
                         current_version=current)


class EnvelopeIdReused(Conflict):
    slug = "envelope-id-reused"
    title = "Envelope id already used"

    def __init__(self, envelope_id: str) -> None:
        super().__init__(f"The id {envelope_id} was already used for a different envelope.",
                         id=envelope_id)


class ItemConflict(Conflict):
    slug = "item-conflict"
    title = "International certificate conflict"


def field_error(field: str, message: str) -> InvalidInput:
    """A 422 naming one field."""
    return InvalidInput({field: [message]})
