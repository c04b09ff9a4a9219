"""Expiry watch (issue 17): certificates whose validity ends within a window, scoped as
every search, in CSV and Excel too; a certificate past its validity without an explicit
event is listed as expired."""

from __future__ import annotations

import csv
import datetime as dt
import io

from tests.helpers import auth, issued, post

TODAY = dt.date.today()


def day(offset: int) -> str:
    return (TODAY + dt.timedelta(days=offset)).isoformat()


def test_certificates_expiring_in_the_next_90_days(client, token_for, project):
    cb = token_for("certification-body", "330000")
    for key, tenant, until in (("EW-30", "330523", day(30)), ("EW-80", "330522", day(80)),
                               ("EW-200", "330523", day(200)), ("EW-OLD", "330523", day(-5)),
                               ("EW-HZ", "330102", day(20))):
        assert post(client, cb, issued(key, tenant=tenant, occurred_on=day(-400),
                                       valid_until=until)).status_code == 201
    project()
    huzhou = token_for("admin", "330500")
    window = {"kind": "certification", "valid_until_from": day(0), "valid_until_to": day(90)}
    found = client.get("/v1/records", query_string=window, headers=auth(huzhou)).json
    assert sorted(r["record"] for r in found["records"]) == ["EW-30", "EW-80"]  # in scope
    lapsed = client.get("/v1/records", headers=auth(huzhou), query_string={
        "kind": "certification", "status": "expired"}).json["records"]
    assert [(r["record"], r["status"]) for r in lapsed] == [("EW-OLD", "expired")]
    text = client.get("/v1/records.csv", query_string=window,
                      headers=auth(huzhou)).get_data(as_text=True)
    assert sorted(r["record"] for r in csv.DictReader(io.StringIO(text.lstrip("\ufeff")))) == [
        "EW-30", "EW-80"]
    assert client.get("/v1/records.xlsx", query_string=window,
                      headers=auth(huzhou)).status_code == 200
    backwards = client.get("/v1/records", headers=auth(huzhou), query_string={
        "valid_until_from": day(10), "valid_until_to": day(0)})
    assert backwards.status_code == 422 and "valid_until_to" in backwards.json["errors"]
