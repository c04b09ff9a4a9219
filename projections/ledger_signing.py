"""Ed25519 keys and signed checkpoints of the ledger.

A checkpoint signs the message `qbr-ledger-v1|{position}|{hash}|{signed_at}` (ASCII), where
`hash` is the ledger entry hash at `position` and `signed_at` an ISO UTC timestamp ending in
"Z". The key id is the first 16 hex characters of SHA-256 over the raw 32-byte public key.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from events.wire import wire_time

MESSAGE_PREFIX = "qbr-ledger-v1"
ALGORITHM = "Ed25519"


class SigningKeyError(Exception):
    """The signing key file is missing, unreadable or not an Ed25519 PKCS8 PEM key."""


def checkpoint_message(position: int, hash_: str, signed_at: str) -> str:
    """The exact text a checkpoint signs."""
    return f"{MESSAGE_PREFIX}|{position}|{hash_}|{signed_at}"


def utc_stamp(moment: dt.datetime | None = None) -> str:
    """An ISO UTC timestamp with microseconds and Z (the form checkpoints sign)."""
    return wire_time(moment or dt.datetime.now(dt.timezone.utc))


def parse_stamp(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.removesuffix("Z")).replace(tzinfo=dt.timezone.utc)


def public_pem(key: Ed25519PublicKey) -> str:
    return key.public_bytes(serialization.Encoding.PEM,
                            serialization.PublicFormat.SubjectPublicKeyInfo).decode("ascii")


def key_id(key: Ed25519PublicKey) -> str:
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def load_public_key(pem: str | bytes) -> Ed25519PublicKey:
    """An Ed25519 public key from PEM text."""
    data = pem.encode("ascii") if isinstance(pem, str) else pem
    try:
        key = serialization.load_pem_public_key(data)
    except ValueError as exc:
        raise SigningKeyError(f"not a PEM public key: {exc}") from None
    if not isinstance(key, Ed25519PublicKey):
        raise SigningKeyError("the public key is not an Ed25519 key")
    return key


@dataclass(frozen=True)
class Signer:
    """Signs checkpoints with the registry's Ed25519 private key."""

    private_key: Ed25519PrivateKey

    @property
    def public_key(self) -> Ed25519PublicKey:
        return self.private_key.public_key()

    @property
    def key_id(self) -> str:
        return key_id(self.public_key)

    @property
    def public_pem(self) -> str:
        return public_pem(self.public_key)

    def sign(self, position: int, hash_: str, signed_at: str) -> str:
        """The base64 signature of a checkpoint."""
        message = checkpoint_message(position, hash_, signed_at).encode("ascii")
        return base64.b64encode(self.private_key.sign(message)).decode("ascii")

    @classmethod
    def load(cls, path: str | os.PathLike) -> "Signer":
        """Read a PKCS8 PEM private key (unencrypted) from a file."""
        try:
            data = Path(path).read_bytes()
        except FileNotFoundError:
            raise SigningKeyError(f"no signing key at {path} (run `registry init`)") from None
        except OSError as exc:
            raise SigningKeyError(f"cannot read the signing key at {path}: {exc}") from None
        try:
            key = serialization.load_pem_private_key(data, password=None)
        except (TypeError, ValueError) as exc:
            raise SigningKeyError(f"{path} is not a PEM PKCS8 private key: {exc}") from None
        if not isinstance(key, Ed25519PrivateKey):
            raise SigningKeyError(f"{path} is not an Ed25519 key")
        return cls(key)


def generate_key_file(path: str | os.PathLike) -> tuple[Signer, bool]:
    """Create an Ed25519 key in `path` (PEM PKCS8, mode 0600) unless one is there.
    Returns the signer and whether the key was created now."""
    path = Path(path)
    if path.exists():
        return Signer.load(path), False
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    # O_EXCL: never overwrite a key another process wrote meanwhile; 0600 from the start.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
    return Signer(key), True


def verify_signature(public_key: Ed25519PublicKey, checkpoint: dict[str, Any]) -> bool:
    """Whether a checkpoint's signature is valid for its position, hash and signed_at."""
    try:
        signature = base64.b64decode(checkpoint["signature"], validate=True)
        message = checkpoint_message(int(checkpoint["position"]), checkpoint["hash"],
                                     checkpoint["signed_at"]).encode("ascii")
        public_key.verify(signature, message)
    except (InvalidSignature, ValueError, KeyError, TypeError, UnicodeEncodeError):
        return False
    return True


__all__ = ["ALGORITHM", "Signer", "SigningKeyError", "checkpoint_message", "generate_key_file",
           "key_id", "load_public_key", "parse_stamp", "public_pem", "utc_stamp",
           "verify_signature"]
