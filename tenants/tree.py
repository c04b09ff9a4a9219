"""The division tree: province -> city -> county, held in memory (102 nodes)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

LEVELS = ("province", "city", "county")


@dataclass(frozen=True)
class Tenant:
    """An administrative division that owns records."""

    code: str
    name: str
    name_en: str
    level: str
    division_type: str
    parent: str | None

    def as_json(self) -> dict:
        return {"code": self.code, "name": self.name, "name_en": self.name_en,
                "level": self.level, "division_type": self.division_type, "parent": self.parent}


class TenantTree:
    """Lookups over the tree: parents, children, ancestors and subtrees."""

    def __init__(self, tenants: Iterable[Tenant]) -> None:
        self._by_code = {t.code: t for t in tenants}
        self._children: dict[str | None, list[str]] = {}
        for tenant in sorted(self._by_code.values(), key=lambda t: t.code):
            self._children.setdefault(tenant.parent, []).append(tenant.code)
        self._subtrees: dict[str, frozenset[str]] = {}

    def __len__(self) -> int:
        return len(self._by_code)

    def __contains__(self, code: object) -> bool:
        return code in self._by_code

    def get(self, code: str) -> Tenant | None:
        return self._by_code.get(code)

    def all(self) -> list[Tenant]:
        return sorted(self._by_code.values(), key=lambda t: t.code)

    def roots(self) -> list[Tenant]:
        return [self._by_code[c] for c in self._children.get(None, [])]

    def children(self, code: str) -> list[Tenant]:
        return [self._by_code[c] for c in self._children.get(code, [])]

    def ancestors(self, code: str) -> list[str]:
        """Codes from the parent up to the root (empty for a root)."""
        chain = []
        parent = self._by_code[code].parent
        while parent is not None:
            chain.append(parent)
            parent = self._by_code[parent].parent
        return chain

    def lineage(self, code: str) -> list[str]:
        """The code itself followed by its ancestors."""
        return [code, *self.ancestors(code)]

    def subtree(self, code: str) -> frozenset[str]:
        """The code and every code below it."""
        if code not in self._subtrees:
            found, stack = set(), [code]
            while stack:
                current = stack.pop()
                found.add(current)
                stack.extend(self._children.get(current, []))
            self._subtrees[code] = frozenset(found)
        return self._subtrees[code]

    def is_within(self, code: str, ancestor: str) -> bool:
        """True when `code` is `ancestor` or lies below it."""
        return code in self.subtree(ancestor)
