"""Errors of the record use cases."""

from __future__ import annotations

from tenants.errors import Conflict, InvalidInput, NotFound, RegistryError, Unavailable


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


class EnvelopeAlreadyStored(Conflict):
    """In a batch mixing stored and new envelopes: this one was stored by an earlier request."""

    slug = "envelope-already-stored"
    title = "Envelope already stored"

    def __init__(self, envelope_id: str, position: int) -> None:
        super().__init__(f"The envelope {envelope_id} was stored by an earlier request (position "
                         f"{position}). Resend the original batch unchanged, or this batch "
                         "without it.", id=envelope_id, position=position)


class BatchTooLarge(RegistryError):
    """More envelopes than one batch may hold (413, naming the limit)."""

    status = 413
    slug = "batch-too-large"
    title = "Batch too large"

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(f"A batch holds at most {limit} events; this one has {size}. Split it.",
                         max_events=limit, events=size)


# A refused batch answers the first status in this order that any of its refusals has.
BATCH_STATUS_ORDER = (422, 409, 403, 404)


class BatchRefused(RegistryError):
    """Some envelopes of a batch were refused, so none was stored; `problems` maps each
    refused index to its own error (the one a single POST of that envelope would answer)."""

    slug = "batch-refused"
    title = "Batch refused"

    def __init__(self, problems: dict[int, RegistryError], size: int) -> None:
        statuses = {problem.status for problem in problems.values()}
        self.status = next((s for s in BATCH_STATUS_ORDER if s in statuses), max(statuses))
        self.problems = dict(sorted(problems.items()))
        super().__init__(f"{len(problems)} of {size} events were refused; nothing was stored.",
                         refused=list(self.problems))


class WriteContention(Unavailable):
    """Concurrent writers kept changing the records between each decision and its append.
    Nothing was stored; the same request is safe to send again (503 with Retry-After)."""

    slug = "write-contention"
    title = "Records busy"

    def __init__(self, attempts: int) -> None:
        super().__init__(f"Other writers changed these records {attempts} times while this "
                         "request was decided; nothing was stored. Send it again.",
                         retry_after=1)
