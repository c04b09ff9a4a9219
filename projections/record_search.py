"""Record reads from the read models: search, the public search and the expiry watch
(mixed into projections.queries.ReadModels, which holds the engine and the live model)."""

from __future__ import annotations

import base64
import datetime as dt
import json
from typing import Any

from sqlalchemy import and_, case, func, or_, select

from events import KIND_SPECS, STATES, status_on
from projections.switching import retry_after_a_switch
from tenants.errors import InvalidInput
from tenants.scope import Scope

EXPIRY_WINDOWS = (30, 90, 180)
PUBLIC_RESULTS = 20


class RecordQueries:
    """Searches over rm_records (`self.engine`, `self.model` come from ReadModels)."""

    # Expiry watch ------------------------------------------------------------------------

    @retry_after_a_switch
    def expiring(self, scope: Scope, code: str, today: dt.date,
                 windows: tuple[int, ...] = EXPIRY_WINDOWS, listed: int = 20) -> dict[str, Any]:
        """Certificates of the subtree still valid or suspended whose validity ends within
        each window of days from today, for the tenant and each child, and the soonest."""
        scope.visible_tenant(code)
        r = self.model.records
        lapsing = [and_(r.c.kind == name, r.c.status.in_(sorted(kind.lapse.states)))
                   for name, kind in KIND_SPECS.items()
                   if kind.lapse and name in scope.readable_kinds()]
        if not lapsing:
            return {"windows": list(windows), "from": today, "to": today, "total": {},
                    "children": [], "soonest": []}
        last = today + dt.timedelta(days=max(windows))
        live = and_(or_(*lapsing), r.c.voided.is_(False), r.c.valid_until >= today,
                    r.c.valid_until <= last, r.c.tenant.in_(sorted(scope.tree.subtree(code))))
        buckets = [func.sum(case((r.c.valid_until <= today + dt.timedelta(days=w), 1),
                                 else_=0)) for w in windows]
        with self.engine.connect() as conn:
            per_tenant = conn.execute(select(r.c.tenant, *buckets).where(live)
                                      .group_by(r.c.tenant)).all()
            soonest = conn.execute(select(r).where(live).order_by(r.c.valid_until, r.c.key)
                                   .limit(listed)).all()
        children = {c.code: [0] * len(windows) for c in scope.tree.children(code)}
        total = [0] * len(windows)
        for tenant, *numbers in per_tenant:
            child = next((c for c in scope.tree.lineage(tenant) if c in children), None)
            for n, number in enumerate(numbers):
                total[n] += int(number or 0)
                if child is not None:
                    children[child][n] += int(number or 0)
        return {"windows": list(windows), "from": today, "to": last,
                "total": dict(zip(windows, total)),
                "children": [{"tenant": scope.tree.get(c).as_json(),
                              "counts": dict(zip(windows, numbers))}
                             for c, numbers in children.items()],
                "soonest": [record_summary(row, today) for row in soonest]}

    # Public search -----------------------------------------------------------------------

    @retry_after_a_switch
    def public_search(self, q: str, today: dt.date, limit: int = PUBLIC_RESULTS
                      ) -> list[dict[str, Any]]:
        """Records anyone may look up: by exact key, exact USCC, or holder-name prefix (at
        least 2 characters), voided ones never; at most `limit`, public fields only."""
        r = self.model.records
        text = q.strip()
        matches = [r.c.key == text]
        if len(text) == 18:
            matches.append(r.c.holder_uscc == text.upper())
        if len(text) >= 2:
            matches.append(r.c.holder_name.startswith(text, autoescape=True))
        query = (select(r.c.kind, r.c.key, r.c.status, r.c.valid_until, r.c.holder_name)
                 .where(r.c.voided.is_(False), or_(*matches))
                 .order_by(r.c.kind, r.c.key).limit(limit))
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        return [{"kind": row.kind, "record": row.key, "holder_name": row.holder_name,
                 "status": status_on(row.kind, row.status, row.valid_until, today),
                 "valid_until": row.valid_until, "checked_on": today} for row in rows]

    # Records -----------------------------------------------------------------------------

    @retry_after_a_switch
    def search(self, scope: Scope, today: dt.date, kind: str | None = None,
               tenant: str | None = None, status: str | None = None, holder: str | None = None,
               q: str | None = None, include_voided: bool = False, limit: int = 50,
               cursor: str | None = None, valid_until_from: dt.date | None = None,
               valid_until_to: dt.date | None = None) -> dict[str, Any]:
        """Records in scope matching the filters, ordered by (kind, key), a page at a time
        (`valid_until_from`/`_to`: certificates whose validity ends in those days, the
        expiry watch)."""
        model = self.model
        r = model.records
        kinds = sorted(scope.readable_kinds() & ({kind} if kind else set(STATES)))
        if tenant is not None:
            scope.visible_tenant(tenant)
            tenants = scope.tree.subtree(tenant)
        else:
            tenants = frozenset(scope.visible_tenants())
        conditions = [r.c.kind.in_(kinds)]
        if not scope.is_operator and len(tenants) < len(scope.tree):
            conditions.append(r.c.tenant.in_(sorted(tenants)))
        if not include_voided:
            conditions.append(r.c.voided.is_(False))
        if status:
            conditions.append(_status_condition(r, status, today))
        if holder:
            conditions.append(r.c.holder_uscc == holder.upper() if len(holder) == 18
                              else r.c.holder_name.contains(holder, autoescape=True))
        if q:
            conditions.append(or_(r.c.key.contains(q, autoescape=True),
                                  r.c.label.contains(q, autoescape=True),
                                  r.c.holder_name.contains(q, autoescape=True)))
        if valid_until_from is not None:
            conditions.append(r.c.valid_until >= valid_until_from)
        if valid_until_to is not None:
            conditions.append(r.c.valid_until <= valid_until_to)
        if cursor:
            last_kind, last_key = _decode_cursor(cursor)
            conditions.append(or_(r.c.kind > last_kind,
                                  and_(r.c.kind == last_kind, r.c.key > last_key)))
        query = (select(r).where(*conditions).order_by(r.c.kind, r.c.key).limit(limit + 1))
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        more = len(rows) > limit
        rows = rows[:limit]
        return {"records": [record_summary(row, today) for row in rows],
                "next": _encode_cursor(rows[-1].kind, rows[-1].key) if more and rows else None}


def _status_condition(r, status: str, today: dt.date):
    known = {s for states in STATES.values() for s in states}
    if status not in known:
        raise InvalidInput({"status": [f"Must be one of {', '.join(sorted(known))}."]})
    conditions = [r.c.status == status]
    for name, kind in KIND_SPECS.items():  # a lapsed record is in its lapse's state
        if kind.lapse is None:
            continue
        lapsed = and_(r.c.kind == name, r.c.status.in_(sorted(kind.lapse.states)),
                      r.c.valid_until < today)
        if status == kind.lapse.to:
            conditions = [or_(*conditions, lapsed)]
        elif status in kind.lapse.states:
            conditions.append(~lapsed)
    return and_(*conditions)


def record_summary(row: Any, today: dt.date) -> dict[str, Any]:
    return {
        "kind": row.kind, "record": row.key, "tenant": row.tenant,
        "status": status_on(row.kind, row.status, row.valid_until, today),
        "voided": row.voided,
        "holder": {"name": row.holder_name, "uscc": row.holder_uscc} if row.holder_uscc else None,
        "label": row.label, "valid_until": row.valid_until, "level": row.level,
        "gi_type": row.gi_type, "created_on": row.created_on,
        "last_occurred_on": row.last_occurred_on, "version": row.version,
        "position": row.position,
    }


def _encode_cursor(kind: str, key: str) -> str:
    raw = json.dumps([kind, key], ensure_ascii=False).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[str, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        kind, key = json.loads(raw)
        if not isinstance(kind, str) or not isinstance(key, str):
            raise ValueError
        return kind, key
    except (ValueError, TypeError, UnicodeDecodeError):
        raise InvalidInput({"cursor": ["Not a cursor returned by this endpoint."]}) from None
