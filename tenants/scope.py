"""Scope: what a principal may read and write, checked inside every use case."""

from __future__ import annotations

from dataclasses import dataclass

from tenants.errors import NotFound, OutOfScope
from tenants.principals import KIND_SPECS, KINDS, WRITER_ROLES, Principal
from tenants.tree import TenantTree

# Award levels ranked against tenant levels: the province records national awards too.
AWARD_LEVEL_RANK = {"county": 0, "city": 1, "provincial": 2, "national": 3}
HIGHEST_AWARD_FOR_TENANT_LEVEL = {"county": 0, "city": 1, "province": 3}


@dataclass(frozen=True)
class Scope:
    """A principal together with the tenant tree it is placed in."""

    principal: Principal
    tree: TenantTree
    is_operator: bool = False

    @property
    def tenant(self) -> str:
        return self.principal.tenant

    @property
    def role(self) -> str:
        return self.principal.role

    def covers(self, tenant: str) -> bool:
        """True when the tenant lies in the principal's subtree."""
        if self.is_operator:
            return tenant in self.tree
        return tenant in self.tree and self.tree.is_within(tenant, self.principal.tenant)

    def visible_tenant(self, code: str):
        """The tenant `code`, if it lies in the principal's subtree (404 for an unknown code,
        403 outside the subtree)."""
        tenant = self.tree.get(code)
        if tenant is None:
            raise NotFound(f"No tenant {code}.")
        if not self.covers(code):
            raise OutOfScope(f"Tenant {code} is outside your subtree.", tenant=code)
        return tenant

    def readable_kinds(self) -> frozenset[str]:
        """Admins and auditors read every kind; writers read what they can write."""
        if self.is_operator or self.role in ("admin", "auditor"):
            return frozenset(KINDS)
        return frozenset(self.principal.kinds)

    def can_read(self, tenant: str, kind: str) -> bool:
        return kind in self.readable_kinds() and self.covers(tenant)

    def can_audit(self, tenant: str) -> bool:
        """Admins and auditors see the full audit feed of their subtree."""
        return (self.is_operator or self.role in ("admin", "auditor")) and self.covers(tenant)

    def may_write_type(self, event_type: str, kind: str) -> bool:
        """Whether the role may post this type of event for this kind at all."""
        if self.is_operator:
            return True
        if self.role == "admin":
            return KIND_SPECS[kind].admin_writes or event_type.startswith("record.")
        if self.role in WRITER_ROLES:
            return kind in self.principal.kinds
        return False

    def can_write(self, event_type: str, kind: str, tenant: str) -> bool:
        if not (self.may_write_type(event_type, kind) and self.covers(tenant)):
            return False
        if KIND_SPECS[kind].province_or_own_tenant and self.role == "admin":
            return self.principal.tenant in (*(t.code for t in self.tree.roots()), tenant)
        return True

    def may_record_award_level(self, level: str) -> bool:
        """A county admin cannot record a provincial award; the province records national ones."""
        if self.is_operator:
            return True
        tenant = self.tree.get(self.principal.tenant)
        if tenant is None:
            return False
        return AWARD_LEVEL_RANK[level] <= HIGHEST_AWARD_FOR_TENANT_LEVEL[tenant.level]

    def visible_tenants(self) -> list[str]:
        """Codes of every tenant the principal can see, in code order."""
        if self.is_operator:
            return [t.code for t in self.tree.all()]
        return sorted(self.tree.subtree(self.principal.tenant))
