"""The event catalogue: one class per wire type, payload schemas, ids and topics.

Stored topics (`events.certification:CertificationIssued`) are data: renaming a module or a
class is a data migration (register an alias with `eventsourcing.utils.register_topic`).
Payload changes use `class_version` and `upcast_vN_vN+1` static methods on the class.
"""

from __future__ import annotations

import functools
from uuid import UUID, uuid5

from events.award import AWARD_LEVELS
from events.base import DateAsISO, RecordEvent, RegistryEvent
from events.catalogue import (
    AMENDABLE,
    EVENT_TYPES,
    KIND_SPECS,
    KINDS,
    RECORD_EVENT_CLASSES,
    STATES,
    allowed_types,
    status_on,
)
from events.gi import GI_TYPES
from events.kind import Kind
from events.openings import Opening, OpeningBook, OpeningRecorded
from events.plans import (
    PlanAdopted,
    PlanListed,
    PlanOpeningRecorded,
    PlanRevised,
    PlanTargetSet,
    PlanView,
)
from events.registry import EnvelopeAccepted, PrincipalAdded, PrincipalRevoked, TenantRegistered

# Every record event class by its name (`from events import CertificationIssued`).
globals().update({cls.__name__: cls for cls in RECORD_EVENT_CLASSES})

# Fixed namespace of every name-derived id in this registry.
NAMESPACE = UUID("6f1d1c0e-3b0a-5d43-9a1f-7d2b8e4c9a10")


@functools.lru_cache(maxsize=4096)
def record_id(kind: str, key: str) -> UUID:
    """The id of the record with this normalised key (keys are unique within a kind)."""
    return uuid5(NAMESPACE, f"record/{kind}/{key}")


def tenant_id(code: str) -> UUID:
    """The id of the tenant aggregate of a division code."""
    return uuid5(NAMESPACE, f"tenant/{code}")


def principal_id_for_token_hash(token_hash: str) -> UUID:
    """The id of the principal aggregate holding a token with this hash."""
    return uuid5(NAMESPACE, f"principal/{token_hash}")


def plan_id(plan: str) -> UUID:
    """The id of a plan's aggregate."""
    return uuid5(NAMESPACE, f"plan/{plan}")


PLAN_CATALOGUE_ID = uuid5(NAMESPACE, "plans")


def openings_id(tenant: str) -> UUID:
    """The id of the aggregate holding a tenant's openings."""
    return uuid5(NAMESPACE, f"openings/{tenant}")


def receipt_id(envelope_id: UUID) -> UUID:
    """The id of the receipt aggregate of an envelope id."""
    return uuid5(NAMESPACE, f"envelope/{envelope_id}")


__all__ = [
    "AMENDABLE",
    "AWARD_LEVELS",
    "DateAsISO",
    "EVENT_TYPES",
    "EnvelopeAccepted",
    "GI_TYPES",
    "KINDS",
    "KIND_SPECS",
    "Kind",
    "NAMESPACE",
    "Opening",
    "OpeningBook",
    "OpeningRecorded",
    "PLAN_CATALOGUE_ID",
    "PlanAdopted",
    "PlanListed",
    "PlanOpeningRecorded",
    "PlanRevised",
    "PlanTargetSet",
    "PlanView",
    "PrincipalAdded",
    "PrincipalRevoked",
    "RECORD_EVENT_CLASSES",
    "RecordEvent",
    "RegistryEvent",
    "STATES",
    "TenantRegistered",
    "allowed_types",
    "status_on",
    "plan_id",
    "openings_id",
    "principal_id_for_token_hash",
    "receipt_id",
    "record_id",
    "tenant_id",
] + [cls.__name__ for cls in RECORD_EVENT_CLASSES]
