"""The public ledger endpoints: the signed head and the public key, without a token."""

from __future__ import annotations

import base64

from cryptography.hazmat.primitives.serialization import load_pem_public_key

from projections.ledger_signing import checkpoint_message
from tests.ledger_helpers import make_sealer, write_history


def test_the_latest_checkpoints_signature_verifies_with_the_public_key_from_the_endpoint(
        client, services, tmp_path):
    write_history(services, records=2)
    sealer = make_sealer(services, tmp_path / "signing.key")
    sealer.catch_up()

    head = client.get("/v1/ledger/checkpoints/latest")
    pem = client.get("/v1/ledger/public-key")
    assert head.status_code == 200 and pem.status_code == 200
    body = head.json
    assert body["position"] == services.log.max_position() == sealer.head().position
    assert body["hash"] == sealer.head().hash
    assert body["algorithm"] == "Ed25519" and body["key_id"] == sealer.signer.key_id
    assert body["message"] == checkpoint_message(body["position"], body["hash"],
                                                 body["signed_at"])
    assert body["public_key"] == pem.data.decode()
    assert pem.headers["X-Key-Id"] == sealer.signer.key_id
    key = load_pem_public_key(pem.data)
    key.verify(base64.b64decode(body["signature"]), body["message"].encode("ascii"))


def test_before_any_checkpoint_both_ledger_endpoints_answer_404_problem_json(client):
    for path in ("/v1/ledger/checkpoints/latest", "/v1/ledger/public-key"):
        response = client.get(path)
        assert response.status_code == 404
        assert response.mimetype == "application/problem+json"
        assert response.json["status"] == 404
