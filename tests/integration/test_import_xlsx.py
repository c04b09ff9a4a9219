"""Excel in (issue 13): a 1,000-row workbook with dates as date cells and as the spellings
people type, USCCs as numbers stored as text and 10 bad rows stores the 990 good ones and
reports the 10 by line; the shipped template imports; identifiers as people type them."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

from openpyxl import Workbook, load_workbook

from api.import_rows import CSV_COLUMNS
from api.import_xlsx import LABELS
from events.text import make_uscc
from tests.helpers import auth, issued, post
from tests.integration.test_import import run_import, stored_events  # noqa: F401

TEMPLATE = Path(__file__).resolve().parents[2] / "docs" / "import-template.xlsx"
SPELLINGS = [lambda d: d, lambda d: f"{d.year}/{d.month}/{d.day}",
             lambda d: f"{d.year}-{d.month}-{d.day}", lambda d: f"{d.year}.{d.month}.{d.day}",
             lambda d: f"{d.year}年{d.month}月{d.day}日",
             lambda d: (d - dt.date(1899, 12, 30)).days, lambda d: d.isoformat()]


def workbook(path: Path, n: int, bad: set[int]) -> None:
    book = Workbook()
    sheet = book.active
    sheet.append([LABELS.get(c, c) for c in CSV_COLUMNS])
    sheet.append(list(CSV_COLUMNS))
    for i in range(n):
        day = dt.date(2023, 1, 1) + dt.timedelta(days=i % 300)
        row = {"type": "certification.issued", "record": f"XL-{i:05d}", "tenant": "330523",
               "occurred_on": SPELLINGS[i % len(SPELLINGS)](day),
               "holder_name": f"湖州企业{i}有限公司",
               "holder_uscc": make_uscc(f"91330523{i:09d}"), "product": "竹地板",
               "standards": "T/ZZB 2310-2021", "valid_until": day + dt.timedelta(days=1000)}
        if i in bad:
            row["holder_uscc"] = row["holder_uscc"][:-1] + (
                "0" if row["holder_uscc"][-1] != "0" else "1")
        sheet.append([row.get(c) for c in CSV_COLUMNS])
        uscc = sheet.cell(row=sheet.max_row, column=CSV_COLUMNS.index("holder_uscc") + 1)
        uscc.number_format = "@"  # a number stored as text, as the template formats it
    book.save(path)


def read(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def test_a_1000_row_workbook_stores_the_good_rows_and_reports_the_bad_ones(
        tmp_path, run_import, services, token_for):
    token = token_for("certification-body", "330500")
    bad = set(range(7, 1000, 100))
    path = tmp_path / "march.xlsx"
    workbook(path, 1000, bad)
    result, summary = run_import(str(path), "--principal-token", token)
    assert result.exit_code == 3, result.output
    assert (summary["rows"], summary["stored"], summary["refused"]) == (1000, 990, 10)
    assert summary["normalised"] > 500
    report = read(tmp_path / "march.errors.csv")
    refused = {int(r["line"]) for r in report if r["outcome"] == "refused"}
    assert refused == {i + 3 for i in bad}  # two header rows; sheet rows from 1
    assert all(r["field"] == "holder_uscc" for r in report if r["outcome"] == "refused")
    notes = [r["message"] for r in report if r["outcome"] == "normalised"]
    assert any("'2023/1/2' read as 2023-01-02" in m for m in notes)
    assert any("年" in m for m in notes) and any("Excel date number" in m for m in notes)
    assert any("date cell read as" in m for m in notes)
    events = {e.key: e for e in stored_events(services)}
    assert len(events) == 990
    assert events["XL-00004"].occurred_on == dt.date(2023, 1, 5)  # 2023年1月5日
    assert events["XL-00005"].occurred_on == dt.date(2023, 1, 6)  # an Excel serial


def test_an_excel_report_is_written_when_asked(tmp_path, run_import, services, token_for):
    token = token_for("certification-body", "330500")
    path = tmp_path / "small.xlsx"
    workbook(path, 5, {2})
    result, summary = run_import(str(path), "--principal-token", token, "--report",
                                 str(tmp_path / "report.xlsx"))
    assert result.exit_code == 3
    sheet = load_workbook(tmp_path / "report.xlsx").active
    rows = list(sheet.iter_rows(min_row=3, values_only=True))
    assert ("refused" in [r[1] for r in rows]) and any(r[0] == 5 for r in rows)


def test_the_shipped_template_imports_and_offers_the_event_types(tmp_path, run_import,
                                                                services, token_for):
    book = load_workbook(TEMPLATE)
    sheet = book["events"]
    assert [c.value for c in sheet[2]] == list(CSV_COLUMNS)
    assert sheet.cell(row=1, column=2).value == "事件类型"
    validations = sheet.data_validations.dataValidation
    assert any(v.type == "list" and "types!" in v.formula1 for v in validations)
    uscc = CSV_COLUMNS.index("holder_uscc") + 1
    assert sheet.cell(row=50, column=uscc).number_format == "@"
    token = token_for("certification-body", "330500")
    copy = tmp_path / "template.xlsx"
    copy.write_bytes(TEMPLATE.read_bytes())
    result, summary = run_import(str(copy), "--principal-token", token)
    assert result.exit_code == 0, result.output
    assert summary["stored"] == summary["rows"] == 9


def test_a_uscc_stored_as_a_number_is_refused_naming_the_lost_digits(tmp_path, run_import,
                                                                     services, token_for):
    book = Workbook()
    sheet = book.active
    sheet.append(["type", "record", "tenant", "occurred_on", "holder_name", "holder_uscc",
                  "product", "standards", "valid_until"])
    sheet.append(["certification.issued", "NUM-1", "330523", "2023-01-01", "企业",
                  913305230000000012, "p", "[]", "2026-01-01"])
    book.save(tmp_path / "n.xlsx")
    result, summary = run_import(str(tmp_path / "n.xlsx"), "--principal-token",
                                 token_for("certification-body", "330500"))
    assert summary["refused"] == 1
    assert "loses digits" in (tmp_path / "n.errors.csv").read_text(encoding="utf-8-sig")


def test_identifiers_as_people_type_them(client, token_for):
    cb = token_for("certification-body", "330000")
    plain = make_uscc("91330523000000777")
    wide = plain.translate({ord(c): ord(c) + 0xFEE0 for c in "0123456789ABCDEFGHJKLMNPQRTUWXY"})
    body = issued("FW-1", holder_={"name": "全角企业", "uscc": wide})
    assert post(client, cb, body).status_code == 201
    admin = token_for("admin", "330000")
    stored = client.get("/v1/records/certification/FW-1", headers=auth(admin)).json
    assert stored["attributes"]["holder"]["uscc"] == plain
    old = post(client, cb, issued("OLD-1", holder_={"name": "老企业", "uscc": "330523000012345"}))
    assert old.status_code == 422
    assert "统一社会信用代码" in " ".join(old.json["errors"]["data.holder.uscc"])
    date = post(client, cb, issued("DT-1", occurred_on="2024/3/1"))
    assert date.status_code == 422
    assert "e.g. 2024-03-01" in " ".join(date.json["errors"]["occurred_on"])
