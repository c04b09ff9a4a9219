"""Excel in (issue 13): `registry import FILE.xlsx` reads the first sheet (or `--sheet NAME`)
with openpyxl's read-only streaming mode, with the columns and rules of the CSV template.

The header row is the first row whose cells all name template columns (a row of Chinese
labels above it, as in docs/import-template.xlsx, is skipped); line numbers are the sheet's
row numbers. Cells typed as dates become ISO dates, whole numbers lose their `.0`, and a code
column (USCC) holding a number is refused: Excel has already lost its digits (9.13E+17).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any, Iterator

from api.import_rows import (
    CODE_COLUMNS,
    CSV_COLUMNS,
    DATE_COLUMNS,
    Row,
    UnreadableFile,
    check_header,
    csv_row,
)
from events import RECORD_EVENT_CLASSES

HEADER_SEARCH_ROWS = 10
# The Chinese label over each column of the template: the shared columns here, a kind's own
# fields from their schema's metadata (`metadata={"zh": ...}` in events/<kind>.py).
LABELS = {
    "id": "事件ID（可空）", "type": "事件类型", "record": "记录编号", "kind": "类别",
    "tenant": "地区代码", "occurred_on": "发生日期", "expected_version": "预期版本",
    "holder_name": "持有人名称", "holder_uscc": "持有人统一社会信用代码", "product": "产品",
    "standards": "标准（分号分隔）", "valid_until": "有效期至", "reason": "原因",
    "certificate_no": "国际证书编号", "partner": "国际合作机构", "country": "国家/地区代码",
    "title": "名称/标题", "lead_name": "主导企业名称", "lead_uscc": "主导企业统一社会信用代码",
    "effective_on": "实施日期", "new_code": "新标准号", "level": "奖项级别", "year": "年度",
    "awardee_name": "获奖组织名称", "awardee_uscc": "获奖组织统一社会信用代码",
    "gi_type": "地理标志类型", "name": "地理标志名称", "applicant_name": "申请人名称",
    "applicant_uscc": "申请人统一社会信用代码", "registration_no": "登记号",
    "to_tenant": "迁入地区代码", "changes": "更正内容（JSON）",
} | {name: field.metadata["zh"] for cls in RECORD_EVENT_CLASSES
     for name, field in cls.Payload().fields.items() if "zh" in field.metadata}


def xlsx_rows(path: Path, sheet_name: str | None = None) -> Iterator[Row]:
    """Every data row of the sheet, in sheet order."""
    from openpyxl import load_workbook

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 - a damaged or foreign file: say so in one line
        raise UnreadableFile(f"{path.name} is not an Excel workbook openpyxl can read "
                             f"({type(exc).__name__}).") from None
    try:
        if sheet_name is not None and sheet_name not in book.sheetnames:
            raise UnreadableFile(f"No sheet '{sheet_name}' in {path.name}; its sheets: "
                                 f"{', '.join(book.sheetnames)}.")
        sheet = book[sheet_name] if sheet_name else book.worksheets[0]
        rows = sheet.iter_rows(values_only=True)
        header = None
        for number, cells in enumerate(rows, start=1):
            if header is None:
                header = _header(cells)
                if header is None and number >= HEADER_SEARCH_ROWS:
                    raise UnreadableFile(f"No header row in the first {HEADER_SEARCH_ROWS} rows "
                                         f"of sheet '{sheet.title}': name the columns as in "
                                         "docs/import-template.xlsx.")
                continue
            if not any(_present(cell) for cell in cells):
                continue
            yield _row(number, header, cells)
        if header is None:
            raise UnreadableFile(f"Sheet '{sheet.title}' has no header row.")
    finally:
        book.close()


def sheet_rows(path: Path, sheet_name: str | None = None) -> int | None:
    """The rows the sheet's dimensions claim (None when it does not say or cannot be read;
    an estimate for the progress bar: the header rows are counted too)."""
    from openpyxl import load_workbook

    try:
        book = load_workbook(path, read_only=True)
    except Exception:  # noqa: BLE001 - xlsx_rows says what is wrong with the file
        return None
    try:
        if sheet_name is not None and sheet_name not in book.sheetnames:
            return None
        sheet = book[sheet_name] if sheet_name else book.worksheets[0]
        return sheet.max_row
    finally:
        book.close()


def _present(cell: Any) -> bool:
    return cell is not None and str(cell).strip() != ""


def _header(cells: tuple) -> list[str | None] | None:
    names = [str(cell).strip() if _present(cell) else None for cell in cells]
    given = [n for n in names if n]
    if not given or "type" not in given or any(n not in CSV_COLUMNS for n in given):
        return None
    check_header(given)
    return names


def _row(number: int, header: list[str | None], cells: tuple) -> Row:
    texts: dict[str, str] = {}
    normalised: list[tuple[str, str]] = []
    problems: list[tuple[str, str]] = []
    for name, cell in zip(header, cells):
        if name is None or not _present(cell):
            continue
        if isinstance(cell, dt.datetime):
            day = cell.date()
            texts[name] = day.isoformat()
            if name in DATE_COLUMNS:
                normalised.append((name, f"date cell read as {day.isoformat()}"))
        elif isinstance(cell, dt.date):
            texts[name] = cell.isoformat()
            normalised.append((name, f"date cell read as {cell.isoformat()}"))
        elif isinstance(cell, bool):
            texts[name] = "true" if cell else "false"
        elif isinstance(cell, (int, float)):
            if name in CODE_COLUMNS and name not in ("tenant", "to_tenant"):
                problems.append((name, f"Stored as a number ({cell:g}), which loses digits: "
                                       "format the column as text and type the code again."))
                continue
            texts[name] = str(int(cell)) if float(cell).is_integer() else str(cell)
        else:
            texts[name] = str(cell)
    row = csv_row(number, texts, normalised)
    if problems:
        return Row(number, None, problems + row.problems, row.normalised)
    return row


def build_template(path: Path) -> None:
    """docs/import-template.xlsx: Chinese labels over the column names, a list of the event
    types to pick from, code columns formatted as text, the CSV template's example rows."""
    import csv

    from openpyxl import Workbook
    from openpyxl.styles import Font, PatternFill
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    from events import EVENT_TYPES

    book = Workbook()
    sheet = book.active
    sheet.title = "events"
    types = book.create_sheet("types")
    for n, name in enumerate(EVENT_TYPES, start=1):
        types.cell(row=n, column=1, value=name)
    types.sheet_state = "hidden"
    sheet.append([LABELS.get(c, c) for c in CSV_COLUMNS])
    sheet.append(list(CSV_COLUMNS))
    for row in sheet.iter_rows(min_row=1, max_row=2):
        for cell in row:
            cell.font = Font(bold=True)
            cell.fill = PatternFill("solid", fgColor="F2F2F2")
    sheet.freeze_panes = "A3"
    example = Path(__file__).resolve().parents[1] / "docs" / "import-template.csv"
    with example.open(encoding="utf-8-sig", newline="") as handle:
        for record in csv.DictReader(handle):
            sheet.append([record.get(c) or None for c in CSV_COLUMNS])
    last = 2000
    for n, name in enumerate(CSV_COLUMNS, start=1):
        letter = get_column_letter(n)
        sheet.column_dimensions[letter].width = max(len(LABELS.get(name, name)) * 2, len(name),
                                                    10) + 2
        if name in CODE_COLUMNS or name in DATE_COLUMNS or name == "standards":
            for row in range(3, last + 1):
                sheet.cell(row=row, column=n).number_format = "@"
    column = get_column_letter(CSV_COLUMNS.index("type") + 1)
    choice = DataValidation(type="list", formula1=f"=types!$A$1:$A${len(EVENT_TYPES)}",
                            allow_blank=False, showErrorMessage=True,
                            errorTitle="事件类型 event type",
                            error="请从列表中选择 · pick an event type from the list")
    sheet.add_data_validation(choice)
    choice.add(f"{column}3:{column}{last}")
    book.save(path)
