"""Events of the registry's own aggregates: tenants, principals and envelope receipts."""

from __future__ import annotations

from uuid import UUID

from events.base import RegistryEvent


class TenantRegistered(RegistryEvent):
    """An administrative division joined the tenant tree."""

    TYPE = "tenant.registered"

    code: str
    name: str
    name_en: str
    level: str
    division_type: str
    parent: str | None


class PrincipalAdded(RegistryEvent):
    """An operator created a principal; only the hash of its token is stored."""

    TYPE = "principal.added"

    principal_id: str
    name: str
    role: str
    tenant: str
    kinds: list
    token_hash: str
    actor: dict


class PrincipalRevoked(RegistryEvent):
    """An operator revoked a principal; its token stops working at once."""

    TYPE = "principal.revoked"

    principal_id: str
    tenant: str
    reason: str
    actor: dict


class EnvelopeAccepted(RegistryEvent):
    """Receipt of one accepted envelope id, stored in the same transaction as its event.

    Its aggregate id derives from the envelope id, so a second insert of the same id fails
    inside that transaction: this is what makes retries idempotent.
    """

    TYPE = "envelope.accepted"

    fingerprint: str
    principal_id: str
    record_id: UUID
    kind: str
    key: str
    version: int
