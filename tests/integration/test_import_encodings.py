"""Files from Chinese Windows: a GBK or GB18030 CSV is stored exactly as written, never as
U+FFFD; bytes no encoding explains stop the import before anything is stored (issue 13)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from api import create_app
from api.import_rows import CSV_COLUMNS
from tests.helpers import auth
from tests.integration.test_import import issued_row, run_import, stored_events  # noqa: F401

# 𠮷 (U+20BB7) exists in GB18030 only, not in GBK; 鿏 (U+9FCF) is a GB18030-2005 addition.
NAMES = {"gbk": ["湖州丝绸之路集团有限公司", "安吉竹海家居有限公司（分公司）"],
         "gb18030": ["长兴𠮷祥纺织有限公司", "德清鿏元素材料有限公司"]}


def rows_in(names: list[str]) -> list[dict[str, str]]:
    rows = []
    for n, name in enumerate(names):
        row = issued_row(900 + n)
        row.update(holder_name=name, product="真丝面料·桑蚕丝", reason="")
        rows.append(row)
    return rows


def write(path: Path, rows: list[dict[str, str]], encoding: str) -> None:
    buffer = io.StringIO(newline="")
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    path.write_bytes(buffer.getvalue().encode(encoding))


@pytest.mark.parametrize("encoding", ["gbk", "gb18030"])
def test_a_chinese_windows_csv_is_stored_exactly_as_written(tmp_path, run_import, services,
                                                           settings, token_for, encoding,
                                                           project):
    token = token_for("certification-body", "330500")
    rows = rows_in(NAMES[encoding])
    path = tmp_path / f"{encoding}.csv"
    write(path, rows, encoding)
    result, summary = run_import(str(path), "--principal-token", token)
    assert result.exit_code == 0, result.output
    assert summary["stored"] == len(rows) and summary["refused"] == 0
    assert summary["encoding"] == "gb18030"
    stored = stored_events(services)
    assert [e.holder["name"] for e in stored] == NAMES[encoding]
    assert all("\ufffd" not in e.holder["name"] + e.product for e in stored)
    # read back through the API, byte for byte
    app = create_app(settings=settings)
    try:
        client = app.test_client()
        for row in rows:
            body = client.get(f"/v1/records/certification/{row['record']}",
                              headers=auth(token)).json
            attributes = body["attributes"]
            assert attributes["holder"]["name"].encode("utf-8") == row["holder_name"].encode(
                "utf-8")
            assert attributes["product"] == "真丝面料·桑蚕丝"
    finally:
        app.extensions["registry"].close()


def test_utf8_with_and_without_a_byte_order_mark_is_read_as_utf8(tmp_path, run_import,
                                                                 services, token_for):
    token = token_for("certification-body", "330500")
    for n, encoding in enumerate(("utf-8", "utf-8-sig")):
        rows = rows_in([f"浙江制造{n}号有限公司"])
        rows[0]["record"] = f"U8-{n}"
        path = tmp_path / f"u{n}.csv"
        write(path, rows, encoding)
        result, summary = run_import(str(path), "--principal-token", token)
        assert result.exit_code == 0, result.output
        assert summary["encoding"] == "utf-8"
    assert [e.holder["name"] for e in stored_events(services)] == ["浙江制造0号有限公司",
                                                                  "浙江制造1号有限公司"]


def test_bytes_that_no_encoding_explains_store_nothing_and_name_line_and_offset(
        tmp_path, run_import, services, token_for):
    token = token_for("certification-body", "330500")
    path = tmp_path / "broken.csv"
    write(path, rows_in(["湖州好企业有限公司", "长兴好企业有限公司"]), "utf-8")
    data = path.read_bytes()
    third_line = data.index(b"\r\n", data.index(b"\r\n") + 2) + 2
    cut = data.index("长兴".encode("utf-8"))
    broken = data[:cut] + b"\xff\xfe\x80" + data[cut:]
    path.write_bytes(broken)
    assert cut > third_line
    result, summary = run_import(str(path), "--principal-token", token)
    assert result.exit_code != 0
    assert summary is None  # nothing was imported, so no summary line
    assert "line 3" in result.output and f"byte {cut}" in result.output
    assert "Traceback" not in result.output
    assert stored_events(services) == []


def test_an_encoding_given_on_the_command_line_is_used_strictly(tmp_path, run_import,
                                                                 services, token_for):
    token = token_for("certification-body", "330500")
    rows = rows_in(["湖州丝绸之路集团有限公司"])
    path = tmp_path / "declared.csv"
    write(path, rows, "gbk")
    wrong, _ = run_import(str(path), "--principal-token", token, "--encoding", "utf-8")
    assert wrong.exit_code != 0 and "utf-8" in wrong.output.lower()
    assert stored_events(services) == []
    right, summary = run_import(str(path), "--principal-token", token, "--encoding", "gbk")
    assert right.exit_code == 0, right.output
    assert [e.holder["name"] for e in stored_events(services)] == ["湖州丝绸之路集团有限公司"]


def test_a_replacement_character_is_never_stored(tmp_path, run_import, services, token_for):
    """U+FFFD in a UTF-8 file is the mark of text lost in an earlier conversion: the row is
    refused, naming the field, and nothing of it is stored."""
    token = token_for("certification-body", "330500")
    rows = rows_in(["湖州\ufffd\ufffd有限公司", "完好企业有限公司"])
    path = tmp_path / "lossy.csv"
    write(path, rows, "utf-8")
    result, summary = run_import(str(path), "--principal-token", token)
    assert result.exit_code == 3
    assert (summary["stored"], summary["refused"]) == (1, 1)
    report = (tmp_path / "lossy.errors.csv").read_text(encoding="utf-8-sig")
    assert "holder_name" in report and "U+FFFD" in report
    assert all("\ufffd" not in e.holder["name"] for e in stored_events(services))
