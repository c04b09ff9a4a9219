"""The projector across pages: state carried from one page to the next."""

from __future__ import annotations

from tests.helpers import auth, envelope, holder, issued, post


def test_a_holder_that_lost_its_records_can_hold_again_in_a_later_page(client, token_for,
                                                                       project):
    cb, admin = token_for("certification-body", "330000"), token_for("admin", "330000")
    first, second = holder("甲", n=7101), holder("乙", n=7102)
    assert post(client, cb, issued("HA", holder_=first)).status_code == 201
    project()
    assert post(client, admin, envelope("record.amended", "HA", "2023-06-01",
                                        {"changes": {"holder": second}, "reason": "r"},
                                        kind="certification")).status_code == 201
    project()
    assert post(client, cb, issued("HB", holder_=first, occurred_on="2023-07-01")
                ).status_code == 201
    project()
    body = client.get("/v1/tenants/330000/counts?as_of=2024-01-01", headers=auth(admin)).json
    assert body["counts"]["certification"]["holders_valid"] == 2
