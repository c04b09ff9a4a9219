"""Tables of the tamper-evident ledger (SQLAlchemy Core), beside the events.

`ledger_entries` holds one row per sealed event position, `ledger_checkpoints` the signed heads,
`ledger_keys` the public keys that signed them (served to the public; verification trusts a
pinned key, never this table), and `ledger_tracking` the sealer's position, committed in the
same transaction as the entries it sealed.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    MetaData,
    String,
    Table,
    Text,
)
from sqlalchemy.engine import Engine

metadata = MetaData()

entries = Table(
    "ledger_entries", metadata,
    Column("position", BigInteger, primary_key=True, autoincrement=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    Column("sealed_at", DateTime, nullable=False),
)

checkpoints = Table(
    "ledger_checkpoints", metadata,
    Column("position", BigInteger, primary_key=True, autoincrement=False),
    Column("hash", String(64), nullable=False),
    # Kept as the exact text that was signed (no round trip through a database timestamp).
    Column("signed_at", String(40), nullable=False),
    Column("signature", String(120), nullable=False),  # base64 of the 64-byte signature
    Column("key_id", String(32), nullable=False),
)

keys = Table(
    "ledger_keys", metadata,
    Column("key_id", String(32), primary_key=True),
    Column("public_key", Text, nullable=False),  # PEM (SubjectPublicKeyInfo)
    Column("added_at", DateTime, nullable=False),
)

tracking = Table(
    "ledger_tracking", metadata,
    Column("name", String(32), primary_key=True),
    Column("position", BigInteger, nullable=False),
    Column("head_hash", String(64), nullable=False),
    Column("entries", BigInteger, nullable=False),
    Column("halted_position", BigInteger),
    Column("halted_reason", Text),
    Column("updated_at", DateTime, nullable=False),
)


def create_ledger_tables(engine: Engine) -> None:
    """Create the ledger's tables if absent (part of `registry init`)."""
    metadata.create_all(engine)


__all__ = ["checkpoints", "create_ledger_tables", "entries", "keys", "metadata", "tracking"]
