"""Use cases of the tenant tree and of principals, stored as events."""

from __future__ import annotations

import hmac
import threading
import time
from typing import Any, Iterable
from uuid import UUID

from eventsourcing.utils import get_topic

from events import (
    PrincipalAdded,
    PrincipalRevoked,
    TenantRegistered,
    principal_id_for_token_hash,
    tenant_id,
)
from events.store import EventLog, IntegrityError
from tenants.errors import Conflict, InvalidInput, NotFound, OutOfScope
from tenants.principals import (
    OPERATOR,
    ROLES,
    Principal,
    default_kinds,
    hash_token,
    kinds_problem,
    new_token,
)
from tenants.scope import Scope
from tenants.tree import LEVELS, Tenant, TenantTree

_TENANT_TOPIC = get_topic(TenantRegistered)
_PRINCIPAL_TOPICS = (get_topic(PrincipalAdded), get_topic(PrincipalRevoked))

# How long a process trusts a principal it has authenticated. A revocation made by another
# process (`registry principals revoke`) takes effect in a running server within this bound;
# one made in this process takes effect at once.
PRINCIPAL_TTL_SECONDS = 2.0


class _RecentPrincipals:
    """Principals this process authenticated lately, by (event log, token hash)."""

    def __init__(self) -> None:
        self._entries: dict[tuple[int, str], tuple[float, Principal]] = {}

    def get(self, key: tuple[int, str]) -> Principal | None:
        entry = self._entries.get(key)
        return entry[1] if entry is not None and entry[0] > time.monotonic() else None

    def put(self, key: tuple[int, str], principal: Principal, ttl: float) -> None:
        if len(self._entries) > 10_000:
            self._entries.clear()
        self._entries[key] = (time.monotonic() + ttl, principal)

    def forget(self, principal_id: str) -> None:
        for key, (_, principal) in list(self._entries.items()):
            if principal.id == principal_id:
                self._entries.pop(key, None)


_recent = _RecentPrincipals()


class Directory:
    """The tenant tree and the principals, read from and written to the event log."""

    def __init__(self, log: EventLog, principal_ttl: float = PRINCIPAL_TTL_SECONDS) -> None:
        self.log = log
        self.principal_ttl = principal_ttl
        self._tree: TenantTree | None = None
        self._lock = threading.Lock()

    # Tenants -----------------------------------------------------------------------------

    def tree(self) -> TenantTree:
        """The tenant tree (loaded once per process; `refresh()` reloads it)."""
        if self._tree is None:
            with self._lock:
                if self._tree is None:
                    self._tree = self._load_tree()
        return self._tree

    def refresh(self) -> TenantTree:
        self._tree = None
        return self.tree()

    def _load_tree(self) -> TenantTree:
        tenants = [
            Tenant(e.code, e.name, e.name_en, e.level, e.division_type, e.parent)
            for e in (p.event for p in self.log.read_all(topics=[_TENANT_TOPIC]))
        ]
        return TenantTree(tenants)

    def register_tenants(self, rows: Iterable[dict[str, Any]]) -> int:
        """Register divisions not registered yet (parents first); return how many were new."""
        rows = list(rows)
        known = {t.code for t in self.refresh().all()}
        by_code = {r["code"]: r for r in rows}
        problems = {}
        for row in rows:
            if row.get("level") not in LEVELS:
                problems[f"tenants.{row.get('code')}.level"] = [f"Must be one of {', '.join(LEVELS)}."]
            parent = row.get("parent")
            if parent is not None and parent not in by_code and parent not in known:
                problems[f"tenants.{row.get('code')}.parent"] = [f"Unknown parent {parent}."]
        if problems:
            raise InvalidInput(problems)
        added = 0
        for row in sorted(rows, key=lambda r: LEVELS.index(r["level"])):
            if row["code"] in known:
                continue
            event = TenantRegistered(
                originator_id=tenant_id(row["code"]), originator_version=1,
                timestamp=TenantRegistered.create_timestamp(),
                code=row["code"], name=row["name"], name_en=row.get("name_en") or "",
                level=row["level"], division_type=row.get("division_type") or row["level"],
                parent=row.get("parent"))
            try:
                self.log.append(event)
                added += 1
            except IntegrityError:
                pass  # registered concurrently by another process: same fact
        self.refresh()
        return added

    def operator_scope(self) -> Scope:
        """The scope of the command line's operator: everything."""
        return Scope(OPERATOR, self.tree(), is_operator=True)

    # Principals --------------------------------------------------------------------------

    def add_principal(self, name: str, role: str, tenant: str, kinds: Iterable[str] = (),
                      actor: dict | None = None) -> tuple[Principal, str]:
        """Create a principal; return it with its token (shown once, stored only as a hash)."""
        kinds = tuple(dict.fromkeys(kinds)) or default_kinds(role)
        errors = {}
        if not name or not name.strip() or len(name) > 200:
            errors["name"] = ["Give a name of 1 to 200 characters."]
        if role not in ROLES:
            errors["role"] = [f"Must be one of {', '.join(ROLES)}."]
        elif problem := kinds_problem(role, kinds):
            errors["kinds"] = [problem.capitalize() + "."]
        if tenant not in self.tree():
            errors["tenant"] = [f"Unknown tenant {tenant}."]
        if errors:
            raise InvalidInput(errors)
        token = new_token()
        token_hash = hash_token(token)
        pid = principal_id_for_token_hash(token_hash)
        event = PrincipalAdded(
            originator_id=pid, originator_version=1, timestamp=PrincipalAdded.create_timestamp(),
            principal_id=str(pid), name=name.strip(), role=role, tenant=tenant, kinds=list(kinds),
            token_hash=token_hash, actor=actor or OPERATOR.actor())
        self.log.append(event)
        return self._fold([event]), token

    def authenticate(self, token: str) -> Principal | None:
        """The live principal holding this token, or None (unknown or revoked)."""
        if not token or len(token) > 200:
            return None
        token_hash = hash_token(token)
        key = (id(self.log), token_hash)
        principal = _recent.get(key)
        if principal is not None:
            return principal
        history = self.log.history(principal_id_for_token_hash(token_hash))
        if not history:
            return None
        events = [p.event for p in history]
        if not hmac.compare_digest(events[0].token_hash, token_hash):
            return None
        principal = self._fold(events)
        if principal.revoked:
            return None
        if self.principal_ttl > 0:
            _recent.put(key, principal, self.principal_ttl)
        return principal

    def principals(self) -> list[Principal]:
        """Every principal ever added, revoked ones included."""
        events: dict[str, list] = {}
        for p in self.log.read_all(topics=_PRINCIPAL_TOPICS):
            events.setdefault(p.event.principal_id, []).append(p.event)
        return [self._fold(evs) for evs in events.values()]

    def principal(self, principal_id: str) -> Principal:
        """One principal by its id (the id of its aggregate: a direct read, no scan)."""
        try:
            aggregate = UUID(principal_id)
        except (TypeError, ValueError):
            raise NotFound(f"No principal {principal_id}.") from None
        events = [p.event for p in self.log.history(aggregate)]
        if not events or not isinstance(events[0], PrincipalAdded):
            raise NotFound(f"No principal {principal_id}.")
        return self._fold(events)

    def revoke_principal(self, principal_id: str, reason: str = "revoked by operator",
                         actor: dict | None = None, scope: Scope | None = None) -> Principal:
        """Revoke a principal: its token stops working at once."""
        principal = self.principal(principal_id)
        if scope is not None and not scope.covers(principal.tenant):
            raise OutOfScope(f"Principal {principal_id} is outside your subtree.")
        if principal.revoked:
            raise Conflict(f"Principal {principal_id} is already revoked.", state="revoked")
        pid = UUID(principal.id)
        event = PrincipalRevoked(
            originator_id=pid, originator_version=2, timestamp=PrincipalRevoked.create_timestamp(),
            principal_id=principal.id, tenant=principal.tenant, reason=reason,
            actor=actor or OPERATOR.actor())
        try:
            self.log.append(event)
        except IntegrityError:
            raise Conflict(f"Principal {principal_id} is already revoked.", state="revoked") from None
        finally:
            _recent.forget(principal_id)
        return Principal(**{**principal.__dict__, "revoked": True})

    @staticmethod
    def _fold(events: list) -> Principal:
        added = events[0]
        return Principal(id=added.principal_id, name=added.name, role=added.role,
                         tenant=added.tenant, kinds=tuple(added.kinds),
                         revoked=any(isinstance(e, PrincipalRevoked) for e in events))
