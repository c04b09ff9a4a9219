"""Deciding: check an envelope against scope, the record's state and the rules, then build
the event. Every rule is checked here, before anything is stored (STYLE: check, then record).
"""

from __future__ import annotations

import datetime as dt

from events import EVENT_TYPES, KIND_SPECS, RecordEvent, allowed_types, record_id
from events.envelope import Envelope
from events.kind import RuleBroken
from registry.errors import (
    IllegalTransition,
    ItemConflict,
    RecordExists,
    RecordNotFound,
    VersionConflict,
    field_error,
)
from registry.records import Record
from tenants.errors import InvalidInput, OutOfScope
from tenants.scope import Scope


def decide(scope: Scope, record: Record | None, envelope: Envelope,
           now: dt.datetime) -> list[RecordEvent]:
    """The events one envelope records, or the error that refuses it."""
    kind, event_type = envelope.kind, envelope.type
    if not scope.may_write_type(event_type, kind):
        raise OutOfScope(f"Your role ({scope.role}) may not post '{event_type}' for kind "
                         f"'{kind}'.", kind=kind, event_type=event_type)
    event_class = EVENT_TYPES[event_type]
    if record is None:
        tenant = _check_new(scope, event_class, envelope)
    else:
        tenant = _check_existing(scope, event_class, record, envelope)
    _check_level(scope, record, envelope)
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


def _check_new(scope: Scope, event_class: type[RecordEvent], envelope: Envelope) -> str:
    tenant = envelope.tenant
    if not event_class.creates():
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
    for name in event_class.REQUIRED_WHEN_NEW:
        if envelope.data.get(name) is None:
            errors[f"data.{name}"] = ["Required when the record is new."]
    if errors:
        raise InvalidInput(errors)
    if not scope.covers(tenant):
        raise OutOfScope(f"Tenant {tenant} is outside your subtree.", tenant=tenant)
    if not scope.can_write(envelope.type, envelope.kind, tenant):
        raise OutOfScope(f"A {envelope.kind} record of {tenant} is written by the admins of "
                         f"the province or of {tenant}.", tenant=tenant)
    return tenant


def _check_existing(scope: Scope, event_class: type[RecordEvent], record: Record,
                    envelope: Envelope) -> str:
    kind, key, event_type = record.kind, record.key, envelope.type
    if not scope.can_read(record.tenant, kind):
        raise RecordNotFound(kind, key)  # existence must not leak outside the subtree
    if not scope.can_write(event_type, kind, record.tenant):
        raise OutOfScope(f"You may not write the {kind} record '{key}'.", kind=kind, record=key)
    if envelope.expected_version is not None and envelope.expected_version != record.version:
        raise VersionConflict(kind, key, envelope.expected_version, record.version)
    if event_class.only_creates():
        raise RecordExists(kind, key)
    if envelope.tenant is not None and envelope.tenant != record.tenant:
        raise field_error("tenant", f"Does not match the record's tenant {record.tenant}.")
    if envelope.occurred_on < record.last_occurred_on:
        raise field_error("occurred_on", "Earlier than the record's previous event "
                          f"({record.last_occurred_on.isoformat()}).")
    state = "voided" if record.voided else _effective_state(event_class, record, envelope)
    if not event_class.allowed_in(state):
        raise IllegalTransition(kind, key, state, event_type, allowed_types(kind, state))
    try:
        event_class.check(record, envelope.data, envelope.occurred_on)
    except RuleBroken as broken:
        if broken.field:
            raise field_error(broken.field, broken.message) from None
        raise ItemConflict(broken.message, **broken.extra) from None
    if event_type == "record.transferred":
        _check_transfer(scope, record, envelope.data["to_tenant"])
    return record.tenant


def _effective_state(event_class: type[RecordEvent], record: Record,
                     envelope: Envelope) -> str:
    """The state on the event's date: a lapse counts, except for the event that records the
    lapse itself (certification.expired)."""
    lapse = KIND_SPECS[record.kind].lapse
    if lapse is not None and event_class.STATUS == lapse.to:
        return record.status
    return record.status_on(envelope.occurred_on)


def _check_transfer(scope: Scope, record: Record, target: str) -> None:
    """A record moves to a known tenant in the caller's subtree (any kind)."""
    if target not in scope.tree:
        raise field_error("data.to_tenant", f"Unknown tenant {target}.")
    if target == record.tenant:
        raise field_error("data.to_tenant", f"The record already belongs to {target}.")
    if not scope.covers(target):
        raise OutOfScope(f"Tenant {target} is outside your subtree.", tenant=target)


def _check_level(scope: Scope, record: Record | None, envelope: Envelope) -> None:
    """Every write to an award needs its level at or below the level of the admin's tenant
    (Kind.level_attribute)."""
    name = KIND_SPECS[envelope.kind].level_attribute
    if name is None:
        return
    levels = {envelope.data.get(name), record.attributes.get(name) if record else None}
    for level in levels - {None}:
        if not scope.may_record_award_level(level):
            raise OutOfScope(f"A {level} award is above the level of your tenant "
                             f"{scope.tenant}.", level=level)
