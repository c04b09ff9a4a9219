"""Operator commands answer in one line (issue 14, finding 7): a missing store says what to
run, exits 2 and creates nothing; the import's report never silently overwrites a file,
never follows '..', and the summary is printed even when the report cannot be written."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from api.cli import main
from tests.conftest import PG_URL, require_postgres
from tests.integration.test_import import issued_row, run_import, write_csv  # noqa: F401

BIN = Path(sys.executable).parent
COMMANDS = [["principals", "list"], ["plans", "list"], ["report", "--plan", "x", "--tenant",
                                                        "330000"],
            ["export", "--tenant", "330000"], ["projections", "vacuum"],
            ["projections", "rebuild"], ["ledger", "status"], ["demo"],
            ["import", "x.csv", "--principal-token", "t"]]


def registry(cwd: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items()
                   if not k.startswith(("REGISTRY_", "LC_"))}
    environment["LANG"] = "C.UTF-8"
    environment.update(env or {})
    return subprocess.run([str(BIN / "registry"), *args], cwd=cwd, env=environment,
                          capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("args", COMMANDS, ids=lambda a: " ".join(a[:2]))
def test_a_command_without_a_store_says_what_to_run_and_creates_nothing(tmp_path, args):
    (tmp_path / "x.csv").write_text("type,record,occurred_on\n", encoding="utf-8")
    before = sorted(p.name for p in tmp_path.iterdir())
    result = registry(tmp_path, *args)
    assert result.returncode == 2, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "registry init" in lines[0], result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # no empty registry.db


def test_a_postgres_schema_without_a_registry_is_one_line_and_init_creates_it(tmp_path):
    require_postgres()
    import uuid

    import psycopg

    schema = f"absent_{uuid.uuid4().hex[:8]}"
    env = {"REGISTRY_DATABASE_URL": PG_URL, "REGISTRY_DATABASE_SCHEMA": schema}
    try:
        missing = registry(tmp_path, "principals", "list", env=env)
        assert missing.returncode == 2 and schema in missing.stderr
        assert len(missing.stderr.strip().splitlines()) == 1
        created = registry(tmp_path, "init", env=env)
        assert created.returncode == 0, created.stderr
        assert registry(tmp_path, "principals", "list", env=env).returncode == 0
    finally:
        with psycopg.connect(PG_URL, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def test_an_unreachable_database_and_a_bad_schema_name_are_one_line(tmp_path):
    down = registry(tmp_path, "principals", "list", env={
        "REGISTRY_DATABASE_URL": "postgresql://postgres@127.0.0.1:1/none"})
    assert down.returncode == 2 and "cannot reach PostgreSQL" in down.stderr
    bad = registry(tmp_path, "init", env={"REGISTRY_DATABASE_SCHEMA": "x; drop"})
    assert bad.returncode == 1 and len(bad.stderr.strip().splitlines()) == 1
    assert "Traceback" not in bad.stderr + down.stderr


def test_the_report_is_never_written_over_a_file_or_outside_by_dotdot(tmp_path, run_import,
                                                                      services, token_for):
    token = token_for("certification-body", "330500")
    path = tmp_path / "in.csv"
    write_csv(path, [issued_row(1)])
    precious = tmp_path / "precious.txt"
    precious.write_text("keep me", encoding="utf-8")
    result, summary = run_import(str(path), "--principal-token", token, "--report",
                                 str(precious))
    assert result.exit_code == 2 and "--force" in result.output and summary is None
    assert precious.read_text(encoding="utf-8") == "keep me"
    result, _ = run_import(str(path), "--principal-token", token, "--report",
                           str(tmp_path / "sub" / ".." / "r.csv"))
    assert result.exit_code == 2 and "'..'" in result.output
    result, _ = run_import(str(path), "--principal-token", token, "--report",
                           str(tmp_path / "missing" / "r.csv"))
    assert result.exit_code == 2 and "does not exist" in result.output
    assert list(services.log.read_all(topics=["events.certification:CertificationIssued"])) == []
    result, summary = run_import(str(path), "--principal-token", token)
    assert result.exit_code == 0 and summary["stored"] == 1


def test_the_summary_is_printed_when_the_report_cannot_be_written(tmp_path, run_import,
                                                                  services, token_for,
                                                                  monkeypatch):
    import api.importing

    def refuse(*args):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(api.importing, "write_report", refuse)
    token = token_for("certification-body", "330500")
    path = tmp_path / "in.csv"
    write_csv(path, [issued_row(2)])
    result, summary = run_import(str(path), "--principal-token", token)
    assert result.exit_code == 1
    assert summary["stored"] == 1 and summary["report"] is None
    assert "could not be written" in result.output and "Permission denied" in result.output


def test_commands_speak_chinese_by_lang_or_option(tmp_path):
    """Issue 13: every CLI message follows LANG or --lang."""
    by_lang = registry(tmp_path, "principals", "list", env={"LANG": "zh_CN.UTF-8"})
    by_option = registry(tmp_path, "--lang", "zh", "plans", "list")
    for result in (by_lang, by_option):
        assert result.returncode == 2 and "没有登记库" in result.stderr
        assert "registry init" in result.stderr
    english = registry(tmp_path, "plans", "list")
    assert "no registry at" in english.stderr
