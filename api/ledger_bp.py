"""Public ledger endpoints: the signed head and the public key, for verification offline.

No token is needed: a regulator fetches the latest checkpoint, keeps it, and later checks an
export (or the registry itself) against it with a public key it has pinned.
"""

from __future__ import annotations

from flask import Blueprint, Response

from api.apidoc import documented, reply, text_reply
from api.context import services
from api.throttle import public_request
from projections.ledger import latest_checkpoint, published_key
from tenants.errors import NotFound

ledger_bp = Blueprint("ledger", __name__, url_prefix="/v1/ledger")
ledger_bp.before_request(public_request)


@ledger_bp.get("/checkpoints/latest")
@documented("The latest signed head of the tamper-evident ledger", "latestLedgerCheckpoint",
            {200: reply("LedgerCheckpoint")}, (404, 503), public=True,
            description="404 until the first checkpoint is signed. Pin the public key out of "
                        "band: the one in the answer is for convenience.")
def latest():
    """The newest signed checkpoint, with the public key and the exact message signed."""
    checkpoint = latest_checkpoint(services().engine)
    if checkpoint is None:
        raise NotFound("No ledger checkpoint has been signed yet.")
    return checkpoint


@ledger_bp.get("/public-key")
@documented("The Ed25519 public key that signs ledger checkpoints (PEM)", "ledgerPublicKey",
            {200: text_reply("application/x-pem-file", "PEM (SubjectPublicKeyInfo); the key "
                                                       "id is in the X-Key-Id header")},
            (404, 503), public=True)
def public_key():
    """The PEM public key that signs the checkpoints."""
    key = published_key(services().engine)
    if key is None:
        raise NotFound("No ledger signing key has been published yet.")
    response = Response(key["public_key"], mimetype="application/x-pem-file")
    response.headers["X-Key-Id"] = key["key_id"]
    return response
