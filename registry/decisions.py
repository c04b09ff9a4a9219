"""Deciding: check an envelope against scope, the record's state and the rules, then build
the event. Every rule is checked here, before anything is stored (STYLE: check, then record).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from events import EVENT_TYPES, RecordEvent, record_id
from events.envelope import Envelope
from registry.errors import (
    IllegalTransition,
    ItemConflict,
    RecordExists,
    RecordNotFound,
    VersionConflict,
    field_error,
)
from registry.lifecycle import REQUIRED_WHEN_NEW, TRANSITIONS, allowed_types, is_allowed
from registry.records import Record
from tenants.errors import InvalidInput, OutOfScope
from tenants.scope import Scope


def decide(scope: Scope, record: Record | None, envelope: Envelope, now: dt.datetime,
           today: dt.date) -> list[RecordEvent]:
    """The events one envelope records, or the error that refuses it."""
    kind, event_type = envelope.kind, envelope.type
    if not scope.may_write_type(event_type, kind):
        raise OutOfScope(f"Your role ({scope.role}) may not post '{event_type}' for kind "
                         f"'{kind}'.", kind=kind, event_type=event_type)
    if record is None:
        tenant = _check_new(scope, envelope)
    else:
        tenant = _check_existing(scope, record, envelope, today)
    _check_award_level(scope, record, envelope)
    event_class = EVENT_TYPES[event_type]
    payload = {name: envelope.data.get(name) for name in event_class.payload_fields()}
    event = event_class(
        originator_id=record_id(kind, envelope.key),
        originator_version=(record.version if record else 0) + 1,
        timestamp=now,
        envelope_id=envelope.id,
        kind=kind,
        key=envelope.key,
        tenant=tenant,
        occurred_on=envelope.occurred_on,
        actor=scope.principal.actor(),
        **payload,
    )
    return [event]


def _check_new(scope: Scope, envelope: Envelope) -> str:
    transition = TRANSITIONS[envelope.type]
    tenant = envelope.tenant
    if not transition.creates:
        if tenant is not None and not scope.covers(tenant):
            raise OutOfScope(f"Tenant {tenant} is outside your subtree.", tenant=tenant)
        raise RecordNotFound(envelope.kind, envelope.key)
    if envelope.expected_version not in (None, 0):
        raise VersionConflict(envelope.kind, envelope.key, envelope.expected_version, 0)
    errors: dict[str, list[str]] = {}
    if tenant is None:
        errors["tenant"] = ["Required when the record is created."]
    elif tenant not in scope.tree:
        errors["tenant"] = [f"Unknown tenant {tenant}."]
    for name in REQUIRED_WHEN_NEW.get(envelope.type, ()):
        if envelope.data.get(name) is None:
            errors[f"data.{name}"] = ["Required when the record is new."]
    if errors:
        raise InvalidInput(errors)
    if not scope.covers(tenant):
        raise OutOfScope(f"Tenant {tenant} is outside your subtree.", tenant=tenant)
    return tenant


def _check_existing(scope: Scope, record: Record, envelope: Envelope, today: dt.date) -> str:
    kind, key, event_type = record.kind, record.key, envelope.type
    if not scope.can_read(record.tenant, kind):
        raise RecordNotFound(kind, key)  # existence must not leak outside the subtree
    if not scope.can_write(event_type, kind, record.tenant):
        raise OutOfScope(f"You may not write the {kind} record '{key}'.", kind=kind, record=key)
    if envelope.expected_version is not None and envelope.expected_version != record.version:
        raise VersionConflict(kind, key, envelope.expected_version, record.version)
    if TRANSITIONS[event_type].only_creates:
        raise RecordExists(kind, key)
    if envelope.tenant is not None and envelope.tenant != record.tenant:
        raise field_error("tenant", f"Does not match the record's tenant {record.tenant}.")
    if envelope.occurred_on < record.last_occurred_on:
        raise field_error("occurred_on", "Earlier than the record's previous event "
                          f"({record.last_occurred_on.isoformat()}).")
    state = "voided" if record.voided else _effective_state(record, envelope)
    if not is_allowed(event_type, state):
        raise IllegalTransition(kind, key, state, event_type, allowed_types(kind, state))
    _check_specifics(scope, record, envelope)
    return record.tenant


def _effective_state(record: Record, envelope: Envelope) -> str:
    """The state on the event's date: implicit expiry counts, except for an explicit expiry."""
    if envelope.type == "certification.expired":
        return record.status
    return record.status_on(envelope.occurred_on)


def _check_specifics(scope: Scope, record: Record, envelope: Envelope) -> None:
    data: dict[str, Any] = envelope.data
    event_type = envelope.type
    if event_type == "certification.renewed":
        current = record.attributes["valid_until"]
        if data["valid_until"] <= current:
            raise field_error("data.valid_until",
                              f"Must be later than the current valid_until {current.isoformat()}.")
        if data["valid_until"] <= envelope.occurred_on:
            raise field_error("data.valid_until", "Must be later than occurred_on.")
    elif event_type == "certification.international_issued":
        if data["certificate_no"] in record.items:
            raise ItemConflict(f"International certificate {data['certificate_no']} was already "
                               "issued under this certification.",
                               certificate_no=data["certificate_no"])
    elif event_type == "certification.international_withdrawn":
        item = record.items.get(data["certificate_no"])
        if item is None:
            raise field_error("data.certificate_no", "No international certificate with this "
                              "number was issued under this certification.")
        if item["withdrawn_on"] is not None:
            raise ItemConflict(f"International certificate {data['certificate_no']} is already "
                               "withdrawn.", certificate_no=data["certificate_no"],
                               state="withdrawn")
    elif event_type == "standard.revised":
        current = record.attributes.get("code", record.key)
        if data["new_code"] == current:
            raise field_error("data.new_code", "Must differ from the current code.")
    elif event_type == "record.transferred":
        target = data["to_tenant"]
        if target not in scope.tree:
            raise field_error("data.to_tenant", f"Unknown tenant {target}.")
        if target == record.tenant:
            raise field_error("data.to_tenant", f"The record already belongs to {target}.")
        if not scope.covers(target):
            raise OutOfScope(f"Tenant {target} is outside your subtree.", tenant=target)


def _check_award_level(scope: Scope, record: Record | None, envelope: Envelope) -> None:
    """Every write to an award needs its level at or below the level of the admin's tenant."""
    if envelope.kind != "award":
        return
    levels = {envelope.data.get("level"), record.attributes.get("level") if record else None}
    for level in levels - {None}:
        if not scope.may_record_award_level(level):
            raise OutOfScope(f"A {level} award is above the level of your tenant "
                             f"{scope.tenant}.", level=level)
