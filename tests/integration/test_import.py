"""`registry import`: chunks through the batch use case, a per-row error report, reruns that
store nothing twice (on SQLite and on PostgreSQL)."""

from __future__ import annotations

import csv
import datetime as dt
import json
import uuid
from pathlib import Path

import pytest
from click.testing import CliRunner

from api.cli import main
from api.import_rows import CSV_COLUMNS
from events import RecordEvent
from events.text import make_uscc
from registry.service import Registry

TEMPLATE = Path(__file__).resolve().parents[2] / "docs" / "import-template.csv"
START = dt.date(2023, 1, 1)


def day(offset: int) -> str:
    return (START + dt.timedelta(days=offset)).isoformat()


def issued_row(i: int) -> dict[str, str]:
    return {"type": "certification.issued", "record": f"IMP-{i:05d}", "tenant": "330523",
            "occurred_on": day(i % 300), "holder_name": f"湖州企业{i}有限公司",
            "holder_uscc": make_uscc(f"91330523{i:09d}"), "product": "竹地板",
            "standards": "T/ZZB 2310-2021;T/ZZB 0101-2016", "valid_until": day(i % 300 + 1095)}


def good_row(i: int) -> dict[str, str]:
    """Rows i%10 in 0..6 issue a record; 7 and 8 suspend, 9 adds an international
    certificate to the record issued 7 rows earlier (so rows 3..6 have no dependants)."""
    slot = i % 10
    if slot < 7:
        return issued_row(i)
    base = i - 7
    if slot in (7, 8):
        return {"type": "certification.suspended", "record": f"IMP-{base:05d}",
                "occurred_on": day(base % 300 + 30), "reason": "监督抽查不合格"}
    return {"type": "certification.international_issued", "record": f"IMP-{base:05d}",
            "occurred_on": day(base % 300 + 30), "certificate_no": f"IQ-{base}",
            "partner": "IQNet", "country": "DE"}


def bad_row(i: int, defect: int, rows: list[dict[str, str]]) -> tuple[dict[str, str], str]:
    """A refused row replacing row i (i%10 == 3) and the report field naming its problem."""
    row = issued_row(i)
    if defect == 0:
        row["holder_uscc"] = row["holder_uscc"][:-1] + ("0" if row["holder_uscc"][-1] != "0"
                                                        else "1")
        return row, "holder_uscc"
    if defect == 1:
        del row["product"]
        return row, "product"
    if defect == 2:
        row["occurred_on"] = "2023-02-30"
        return row, "occurred_on"
    if defect == 3:
        row["tenant"] = "330100"  # Hangzhou: outside the Huzhou body's subtree (403)
        return row, ""
    if defect == 4:
        return {"type": "certification.suspended", "record": f"NONE-{i}",
                "occurred_on": day(40), "reason": "r"}, ""  # 404
    if defect == 5:
        return {**issued_row(i - 3), "product": "另一产品"}, ""  # record exists (409)
    if defect == 6:
        return dict(rows[i - 1]), "id"  # repeats the line before: the same event
    if defect == 7:
        row["type"] = "certification.lost"
        return row, "type"
    if defect == 8:
        return {"type": "certification.suspended", "record": f"IMP-{i - 3:05d}",
                "occurred_on": day((i - 3) % 300 + 20), "expected_version": "5",
                "reason": "r"}, ""  # stale version (409)
    return {"type": "certification.international_issued", "record": f"IMP-{i - 2:05d}",
            "occurred_on": day((i - 2) % 300 + 10), "certificate_no": f"X-{i}",
            "partner": "IQNet", "country": "XX"}, "country"


def write_csv(path: Path, rows: list[dict[str, str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=CSV_COLUMNS)
        writer.writeheader()
        writer.writerows(rows)


def make_file(path: Path, n: int, bad_every: int) -> tuple[list[dict], dict[int, str]]:
    """n rows, one bad row every `bad_every` rows; returns the good rows and {line: field}."""
    rows = [good_row(i) for i in range(n)]
    bad: dict[int, str] = {}
    for k, i in enumerate(range(13, n, bad_every)):
        rows[i], field = bad_row(i, k % 10, rows)
        bad[i + 2] = field  # line 1 is the header
    write_csv(path, rows)
    good = [row for i, row in enumerate(rows) if i + 2 not in bad]
    return good, bad


@pytest.fixture
def run_import(settings, services):
    runner = CliRunner()
    env = {"REGISTRY_DATABASE_URL": settings.database_url,
           "REGISTRY_DATABASE_SCHEMA": settings.database_schema}

    def run(*args: str):
        result = runner.invoke(main, ["import", *args], env=env, catch_exceptions=True)
        summary = json.loads(result.stdout.strip().splitlines()[-1]) if result.stdout.strip() \
            else None
        return result, summary

    return run


def stored_events(services) -> list[RecordEvent]:
    return [p.event for p in services.log.read_all() if isinstance(p.event, RecordEvent)]


def read_report(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def test_a_10000_row_csv_stores_exactly_the_good_rows_and_a_rerun_stores_nothing(
        tmp_path, run_import, services, token_for):
    token = token_for("certification-body", "330500")
    path = tmp_path / "march.csv"
    good, bad = make_file(path, 10_000, 200)
    assert len(bad) == 50

    result, summary = run_import(str(path), "--principal-token", token)
    assert result.exit_code == 3, result.output
    assert summary == {"rows": 10_000, "stored": 9_950, "already_stored": 0, "refused": 50,
                       "normalised": 0, "encoding": "utf-8",
                       "report": str(tmp_path / "march.errors.csv")}
    events = stored_events(services)
    assert len(events) == 9_950
    assert sorted((e.key, e.TYPE, e.occurred_on.isoformat()) for e in events) == sorted(
        (r["record"], r["type"], r["occurred_on"]) for r in good)
    report = read_report(tmp_path / "march.errors.csv")
    assert {int(r["line"]) for r in report} == set(bad)
    for row in report:
        if bad[int(row["line"])]:
            assert row["field"] == bad[int(row["line"])], row
        assert row["message"]
    statuses = {r["message"][:3] for r in report if not r["field"]}
    assert statuses == {"403", "404", "409"}

    again, summary = run_import(str(path), "--principal-token", token)
    assert again.exit_code == 3
    assert summary["stored"] == 0 and summary["already_stored"] == 9_950
    assert summary["refused"] == 50
    assert len(stored_events(services)) == 9_950
    rerun_report = read_report(tmp_path / "march.errors.csv")
    assert [(r["line"], r["field"]) for r in rerun_report] == [
        (r["line"], r["field"]) for r in report]  # messages may name the state now


def test_a_run_that_crashed_midway_resumes_without_storing_anything_twice(
        tmp_path, run_import, services, token_for, monkeypatch):
    token = token_for("certification-body", "330500")
    path = tmp_path / "april.csv"
    good, _ = make_file(path, 1_000, 100)
    original = Registry.record_batch
    calls = []

    def crash_on_the_fourth_chunk(self, scope, envelopes):
        calls.append(len(envelopes))
        if len(calls) == 4:
            raise RuntimeError("power cut")
        return original(self, scope, envelopes)

    monkeypatch.setattr(Registry, "record_batch", crash_on_the_fourth_chunk)
    crashed, _ = run_import(str(path), "--principal-token", token, "--chunk-size", "100")
    assert crashed.exit_code == 1 and "RuntimeError: power cut" in crashed.output
    assert "Traceback" not in crashed.output
    before = len(stored_events(services))
    assert 0 < before < len(good)
    monkeypatch.setattr(Registry, "record_batch", original)

    resumed, summary = run_import(str(path), "--principal-token", token, "--chunk-size", "100")
    assert resumed.exit_code == 3
    assert summary["already_stored"] == before
    assert summary["stored"] == len(good) - before
    assert len(stored_events(services)) == len(good)


def test_json_lines_with_and_without_ids_import_and_report_by_line(tmp_path, run_import,
                                                                   services, token_for):
    token = token_for("certification-body", "330500")
    explicit = str(uuid.uuid4())
    lines = [
        json.dumps({"id": explicit, "type": "certification.issued", "record": "JL-1",
                    "tenant": "330523", "occurred_on": "2023-05-10",
                    "data": {"holder": {"name": "安吉竹海", "uscc": make_uscc("91330523000000001")},
                             "product": "竹地板", "standards": [], "valid_until": "2026-05-09"}},
                   ensure_ascii=False),
        "",
        "{not json",
        json.dumps({"type": "certification.suspended", "record": "JL-1",
                    "occurred_on": "2023-06-01", "data": {"reason": "r"}}),
        json.dumps([1, 2]),
        json.dumps({"type": "certification.suspended", "record": "JL-1",
                    "occurred_on": "2023-06-01", "data": {"reason": "r"}}),
        json.dumps({"id": explicit, "type": "certification.reinstated", "record": "JL-1",
                    "occurred_on": "2023-07-01", "data": {}}),
    ]
    path = tmp_path / "events.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    report = tmp_path / "out" / "report.csv"
    report.parent.mkdir()

    result, summary = run_import(str(path), "--principal-token", token, "--report", str(report))
    assert result.exit_code == 3, result.output
    assert summary["stored"] == 2 and summary["refused"] == 4
    rows = read_report(report)
    assert [(r["line"], r["field"]) for r in rows] == [("3", "body"), ("5", "body"),
                                                       ("6", "id"), ("7", "id")]
    assert "line 4" in rows[2]["message"] and "line 1" in rows[3]["message"]
    assert [e.TYPE for e in stored_events(services)] == ["certification.issued",
                                                         "certification.suspended"]
    _, summary = run_import(str(path), "--principal-token", token, "--report", str(report),
                            "--force")
    assert (summary["stored"], summary["already_stored"]) == (0, 2)


def test_the_csv_template_imports_cleanly(tmp_path, run_import, services, token_for):
    token = token_for("certification-body", "330500")
    path = tmp_path / "template.csv"
    path.write_bytes(TEMPLATE.read_bytes())
    result, summary = run_import(str(path), "--principal-token", token)
    assert result.exit_code == 0, result.output
    assert summary["refused"] == 0 and summary["stored"] == summary["rows"] > 0
    assert read_report(tmp_path / "template.errors.csv") == []


def test_a_file_with_an_unknown_column_is_refused_before_anything_is_stored(
        tmp_path, run_import, services, token_for):
    token = token_for("certification-body", "330500")
    path = tmp_path / "odd.csv"
    path.write_text("type,record,occurred_on,colour\ncertification.suspended,X,2023-01-01,red\n",
                    encoding="utf-8")
    result, _ = run_import(str(path), "--principal-token", token)
    assert result.exit_code == 1 and "colour" in result.output
    assert stored_events(services) == []


def test_an_unknown_token_is_refused(tmp_path, run_import, services):
    path = tmp_path / "x.csv"
    write_csv(path, [issued_row(1)])
    result, _ = run_import(str(path), "--principal-token", "qbr_nope")
    assert result.exit_code == 1 and "unknown or revoked" in result.output
    assert stored_events(services) == []
