"""Files that go out open right and safely (issue 13): every CSV has a byte-order mark,
true/false, and neutralised formula-like cells; every CSV has an Excel twin read here with
openpyxl, as a spreadsheet user's tool would: USCCs, keys and codes are text cells, dates are
dates, the header is bilingual and frozen."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from openpyxl import load_workbook

from tests.helpers import auth, holder, issued, post

INJECTION = "=cmd|' /C calc'!A0"


@pytest.fixture
def loaded(client, token_for, plans_loaded, project):
    cb = token_for("certification-body", "330000")
    admin = token_for("admin", "330000")
    for n, name in enumerate([INJECTION, "+1 Huzhou", "@SUM(A1)", "-2 plants", "湖州竹业有限公司"]):
        body = issued(f"EX-{n}", tenant="330523", holder_=holder(name, "330523", 70000 + n))
        assert post(client, cb, body).status_code == 201
    project()
    return admin


def test_the_records_csv_neutralises_formulas_and_keeps_the_stored_value(client, loaded):
    response = client.get("/v1/records.csv", headers=auth(loaded))
    raw = response.get_data()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    names = {r["record"]: r["holder_name"] for r in rows}
    assert names["EX-0"] == "'" + INJECTION
    assert names["EX-1"] == "'+1 Huzhou" and names["EX-2"] == "'@SUM(A1)"
    assert names["EX-3"] == "'-2 plants" and names["EX-4"] == "湖州竹业有限公司"
    assert {r["voided"] for r in rows} == {"false"}
    stored = client.get("/v1/records/certification/EX-0", headers=auth(loaded)).json
    assert stored["attributes"]["holder"]["name"] == INJECTION  # only the export is escaped


def test_the_records_xlsx_has_text_codes_dates_and_no_formulas(client, loaded):
    response = client.get("/v1/records.xlsx", headers=auth(loaded))
    assert response.status_code == 200
    assert response.mimetype.endswith("spreadsheetml.sheet")
    sheet = load_workbook(io.BytesIO(response.get_data())).active
    assert sheet.freeze_panes == "A3"
    header_zh = [c.value for c in sheet[1]]
    header = [c.value for c in sheet[2]]
    assert "统一社会信用代码" in header_zh and "holder_uscc" in header
    column = {name: n for n, name in enumerate(header)}
    rows = list(sheet.iter_rows(min_row=3))
    assert len(rows) == 5
    for row in rows:
        uscc = row[column["holder_uscc"]]
        assert uscc.data_type == "s" and len(uscc.value) == 18
        assert isinstance(row[column["valid_until"]].value, dt.datetime)
        assert row[column["holder_name"]].data_type == "s"
    injected = next(r for r in rows if r[column["record"]].value == "EX-0")
    assert injected[column["holder_name"]].value == INJECTION  # text, not a formula


def test_progress_and_the_audit_feed_as_xlsx(client, loaded):
    progress = client.get("/v1/tenants/330500/progress.xlsx", headers=auth(loaded),
                          query_string={"plan": "huzhou-14th-fyp", "as_of": "2024-01-01"})
    sheet = load_workbook(io.BytesIO(progress.get_data())).active
    header = [c.value for c in sheet[2]]
    rows = {r[0].value: r for r in sheet.iter_rows(min_row=3)}
    pinzibiao = rows["pinzibiao_enterprises"]
    assert pinzibiao[header.index("value")].value == 5
    assert isinstance(pinzibiao[header.index("as_of")].value, dt.datetime)
    feed = client.get("/v1/tenants/330000/events.xlsx", headers=auth(loaded))
    sheet = load_workbook(io.BytesIO(feed.get_data())).active
    header = [c.value for c in sheet[2]]
    types = [r[header.index("type")].value for r in sheet.iter_rows(min_row=3)]
    assert types.count("certification.issued") == 5
