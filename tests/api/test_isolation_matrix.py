"""For every read endpoint and every relation of the caller to the data: the documented
answer, and no body that leaks a record or a count outside the caller's subtree."""

from __future__ import annotations

import pytest

from tests.helpers import holder, issued, post

HOLDER = holder("隔离测试企业", region="330523", n=7777)
RECORD = "ISO-1"

# Tenant-level reads of Huzhou (330500), and record-level reads of a record in Anji (330523).
TENANT_ENDPOINTS = [
    "/v1/tenants/330500",
    "/v1/tenants/330500/counts",
    "/v1/tenants/330500/progress?plan=huzhou-14th-fyp",
    "/v1/tenants/330500/progress.csv?plan=huzhou-14th-fyp",
    "/v1/tenants/330500/progress/series?plan=huzhou-14th-fyp",
    "/v1/tenants/330500/events",
    "/v1/tenants/330500/events.jsonl",
]
RECORD_ENDPOINTS = [
    f"/v1/records/certification/{RECORD}",
    f"/v1/records/certification/{RECORD}/events",
]
# caller -> (tenant-level status, record-level status)
EXPECTED = {
    "province admin": (200, 200),
    "huzhou admin": (200, 200),
    "huzhou auditor": (200, 200),
    "anji admin (child)": (403, 200),
    "changxing admin (sibling county)": (403, 404),
    "hangzhou admin (other city)": (403, 404),
    "revoked admin": (401, 401),
    "malformed token": (401, 401),
    "no token": (401, 401),
}
# the audit feed and exports are for admins and auditors only
WRITER_EXPECTED = {"/v1/tenants/330500/events": 403, "/v1/tenants/330500/events.jsonl": 403}


@pytest.fixture
def world(client, services, token_for, plans_loaded, project):
    cb = token_for("certification-body", "330000")
    assert post(client, cb, issued(RECORD, tenant="330523", holder_=HOLDER)).status_code == 201
    tokens = {
        "province admin": token_for("admin", "330000"),
        "huzhou admin": token_for("admin", "330500"),
        "huzhou auditor": token_for("auditor", "330500"),
        "anji admin (child)": token_for("admin", "330523"),
        "changxing admin (sibling county)": token_for("admin", "330522"),
        "hangzhou admin (other city)": token_for("admin", "330100"),
        "revoked admin": token_for("admin", "330500"),
        "malformed token": "not-a-token\x7f",
        "no token": None,
        "huzhou certification body": token_for("certification-body", "330500"),
    }
    revoked = services.directory.authenticate(tokens["revoked admin"])
    services.directory.revoke_principal(revoked.id)
    project()
    return tokens


def get(client, token, path):
    headers = {} if token is None else {"Authorization": f"Bearer {token}"}
    return client.get(path, headers=headers)


def leaks(response) -> bool:
    text = response.get_data(as_text=True)
    return HOLDER["uscc"] in text or HOLDER["name"] in text


@pytest.mark.parametrize("caller", list(EXPECTED))
def test_every_caller_gets_the_documented_answer_and_nothing_more(client, world, caller):
    tenant_status, record_status = EXPECTED[caller]
    for path in TENANT_ENDPOINTS:
        response = get(client, world[caller], path)
        assert response.status_code == tenant_status, (caller, path, response.status_code)
        if tenant_status != 200:
            assert response.mimetype == "application/problem+json"
            assert not leaks(response), (caller, path)
    for path in RECORD_ENDPOINTS:
        response = get(client, world[caller], path)
        assert response.status_code == record_status, (caller, path, response.status_code)
        if record_status != 200:
            assert response.mimetype == "application/problem+json"
            assert not leaks(response), (caller, path)


def test_lists_never_show_what_is_outside_the_subtree(client, world):
    for caller in ("changxing admin (sibling county)", "hangzhou admin (other city)"):
        token = world[caller]
        for path in ("/v1/records", "/v1/records.csv", "/v1/tenants"):
            response = get(client, token, path)
            assert response.status_code == 200
            assert not leaks(response) and RECORD not in response.get_data(as_text=True)
        own = "330522" if "changxing" in caller else "330100"
        for path in (f"/v1/tenants/{own}/events.jsonl", f"/v1/tenants/{own}/events"):
            assert RECORD not in get(client, token, path).get_data(as_text=True)


def test_writers_do_not_read_the_audit_feed(client, world):
    token = world["huzhou certification body"]
    for path, status in WRITER_EXPECTED.items():
        assert get(client, token, path).status_code == status
    assert get(client, token, f"/v1/records/certification/{RECORD}").status_code == 200
