"""Commands that read projections never print stale numbers without a word (issue 12,
finding 7): `registry report` and `registry export` catch the projections up first, or, when
a projector holds the lock and does not get there, exit non-zero naming the lag."""

from __future__ import annotations

import csv
import threading

from click.testing import CliRunner

from api.cli import main
from projections.runner import ProcessLock
from tests.helpers import issued, post


def cli(settings, *args: str):
    env = {"REGISTRY_DATABASE_URL": settings.database_url,
           "REGISTRY_DATABASE_SCHEMA": settings.database_schema,
           "REGISTRY_FRESHNESS_WAIT_SECONDS": "1"}
    return CliRunner().invoke(main, list(args), env=env)


def test_report_right_after_new_events_shows_them(settings, services, client, token_for,
                                                  plans_loaded, project, tmp_path):
    cb = token_for("certification-body", "330000")
    assert post(client, cb, issued("FR-1", tenant="330523")).status_code == 201
    project()
    for n in range(2, 5):  # written after the last projection, with no projector running
        assert post(client, cb, issued(f"FR-{n}", tenant="330523")).status_code == 201
    out = tmp_path / "p.csv"
    result = cli(settings, "report", "--plan", "huzhou-14th-fyp", "--tenant", "330500",
                 "--as-of", "2024-01-01", "--csv", str(out))
    assert result.exit_code == 0, result.output
    head = services.log.max_position()
    assert f"position {head}" in result.output
    rows = {r["key"]: r for r in csv.DictReader(out.open(encoding="utf-8-sig"))}
    assert rows["pinzibiao_enterprises"]["value"] == "4"
    assert rows["pinzibiao_enterprises"]["position"] == str(head)


def test_report_refuses_to_print_old_numbers_while_a_stuck_projector_holds_the_lock(
        settings, services, client, token_for, plans_loaded, tmp_path):
    cb = token_for("certification-body", "330000")
    assert post(client, cb, issued("FR-9", tenant="330523")).status_code == 201
    lock = ProcessLock(settings.database_url, settings.database_schema, "projector")
    assert lock.try_acquire()  # a projector that holds the lock and applies nothing
    try:
        result = cli(settings, "report", "--plan", "huzhou-14th-fyp", "--tenant", "330500",
                     "--csv", str(tmp_path / "x.csv"))
        export = cli(settings, "export", "--tenant", "330500", "--output",
                     str(tmp_path / "x.jsonl"))
    finally:
        lock.release()
    for outcome in (result, export):
        assert outcome.exit_code != 0
        assert "behind the log" in outcome.output and "Traceback" not in outcome.output
    assert not (tmp_path / "x.csv").exists()
    assert "pinzibiao" not in result.output


def test_report_writes_the_same_table_as_excel(settings, services, plans_loaded, tmp_path):
    """Issue 17: `registry report --xlsx FILE`, the review as a workbook."""
    from openpyxl import load_workbook

    book = tmp_path / "review.xlsx"
    result = cli(settings, "report", "--plan", "zhejiang-14th-fyp", "--tenant", "330000",
                 "--as-of", "2025-06-30", "--csv", str(tmp_path / "r.csv"), "--xlsx", str(book))
    assert result.exit_code == 0, result.output
    sheet = load_workbook(book).active
    assert [c.value for c in sheet[2]][:2] == ["key", "name"]
    keys = [row[0].value for row in sheet.iter_rows(min_row=3)]
    assert "pinzibiao_enterprises" in keys and len(keys) == 28
