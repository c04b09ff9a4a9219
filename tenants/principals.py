"""Principals: who may write and read what, authenticated by a bearer token."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from events import KIND_SPECS, KINDS

ROLES = ("certification-body", "standards-body", "admin", "auditor")
WRITER_ROLES = ("certification-body", "standards-body")
TOKEN_PREFIX = "qbr_"


def new_token() -> str:
    """A fresh bearer token with 256 bits of randomness."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    """The stored form of a token. Tokens are random, so a fast hash is enough."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def default_kinds(role: str) -> tuple[str, ...]:
    """The kinds a role works on when none are given."""
    return {"certification-body": ("certification",), "standards-body": ("standard",)}.get(
        role, KINDS)


def kinds_problem(role: str, kinds: tuple[str, ...]) -> str | None:
    """Why this kind list is not allowed for the role, or None."""
    unknown = [k for k in kinds if k not in KINDS]
    if unknown:
        return f"unknown kind(s): {', '.join(unknown)}"
    if role in WRITER_ROLES:
        refused = [k for k in kinds if role not in KIND_SPECS[k].writer_roles]
        if refused:
            return (f"a {role.replace('-', ' ')} may not work on the kind(s) "
                    f"{', '.join(refused)}: they are recorded by government admins or by "
                    "other bodies")
    return None


@dataclass(frozen=True)
class Principal:
    """An authenticated caller: a certification body, standards body, admin or auditor."""

    id: str
    name: str
    role: str
    tenant: str
    kinds: tuple[str, ...]
    revoked: bool = False

    def actor(self) -> dict:
        """How the principal appears on the events it records."""
        return {"id": self.id, "name": self.name, "role": self.role}

    def as_json(self) -> dict:
        return {"id": self.id, "name": self.name, "role": self.role, "tenant": self.tenant,
                "kinds": list(self.kinds), "revoked": self.revoked}


OPERATOR = Principal(id="operator", name="operator", role="operator", tenant="", kinds=KINDS)
