"""Authentication reads the store at most once per token every PRINCIPAL_TTL_SECONDS, and a
revocation still takes effect within that bound (at once in the revoking process)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from tenants.directory import PRINCIPAL_TTL_SECONDS
from tests.helpers import auth

BIN = Path(sys.executable).parent


def test_a_known_token_is_not_read_from_the_store_again_within_the_bound(services, token_for,
                                                                        monkeypatch):
    token = token_for("auditor", "330500")
    first = services.directory.authenticate(token)
    reads = []
    original = services.log.history
    monkeypatch.setattr(services.log, "history", lambda i: reads.append(i) or original(i))
    assert services.directory.authenticate(token) == first
    assert reads == []
    assert services.directory.authenticate("qbr_unknown") is None
    assert len(reads) == 1  # unknown tokens are never cached


def test_a_revocation_by_another_process_takes_effect_within_the_bound(client, token_for,
                                                                       services, settings):
    token = token_for("auditor", "330500")
    assert client.get("/v1/tenants", headers=auth(token)).status_code == 200
    principal = services.directory.authenticate(token)
    env = {**os.environ, "REGISTRY_DATABASE_URL": settings.database_url,
           "REGISTRY_DATABASE_SCHEMA": settings.database_schema}
    subprocess.run([str(BIN / "registry"), "principals", "revoke", principal.id], env=env,
                   check=True, capture_output=True)
    revoked_at = time.monotonic()
    while client.get("/v1/tenants", headers=auth(token)).status_code == 200:
        assert time.monotonic() - revoked_at < PRINCIPAL_TTL_SECONDS + 0.5
        time.sleep(0.05)
    assert client.get("/v1/tenants", headers=auth(token)).status_code == 401
