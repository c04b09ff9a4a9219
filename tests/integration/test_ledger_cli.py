"""`registry ledger verify | export-all | status`, the key made by `registry init`, and the
sealer running inside `registry projector`."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time
from pathlib import Path

from click.testing import CliRunner

from api.cli import main
from projections.ledger import ledger_status, published_key
from projections.ledger_signing import Signer
from tests.ledger_helpers import alter_payload, make_sealer, positions_of, write_history

BIN = Path(sys.executable).parent


def _env(settings, key_path) -> dict[str, str]:
    return {"REGISTRY_DATABASE_URL": settings.database_url,
            "REGISTRY_DATABASE_SCHEMA": settings.database_schema,
            "REGISTRY_SIGNING_KEY_FILE": str(key_path)}


def test_ledger_verify_exits_non_zero_naming_the_position_altered_in_the_database(
        settings, services, tmp_path):
    write_history(services)
    key = tmp_path / "signing.key"
    make_sealer(services, key).catch_up()
    runner = CliRunner()
    clean = runner.invoke(main, ["ledger", "verify"], env=_env(settings, key))
    assert clean.exit_code == 0, clean.output
    assert clean.stdout.startswith("ledger verified (store)")

    position = positions_of(services, "certification.suspended")[0]
    alter_payload(services, position, lambda state: state.update(reason="无"))
    broken = runner.invoke(main, ["ledger", "verify", "--json"], env=_env(settings, key))
    assert broken.exit_code == 1
    assert json.loads(broken.stdout)["first_break"]["position"] == position
    text = runner.invoke(main, ["ledger", "verify"], env=_env(settings, key))
    assert text.exit_code == 1 and f"LEDGER BROKEN at position {position}:" in text.stdout


def test_a_full_export_verifies_offline_with_only_the_trusted_public_key(
        settings, services, tmp_path):
    write_history(services)
    key = tmp_path / "signing.key"
    make_sealer(services, key).catch_up()
    runner = CliRunner()
    export = tmp_path / "ledger.jsonl"
    result = runner.invoke(main, ["ledger", "export-all", str(export)], env=_env(settings, key))
    assert result.exit_code == 0, result.output
    public = tmp_path / "public.pem"
    public.write_text(Signer.load(key).public_pem)
    # No database and no private key: what a regulator has.
    offline = {"REGISTRY_DATABASE_URL": "postgresql://nobody@127.0.0.1:9/absent",
               "REGISTRY_SIGNING_KEY_FILE": str(tmp_path / "absent.key")}
    args = ["ledger", "verify", "--from-export", str(export), "--offline",
            "--public-key", str(public)]
    ok = runner.invoke(main, args, env=offline)
    assert ok.exit_code == 0, ok.output
    assert f"authenticated up to position {services.log.max_position()}" in ok.stdout

    lines = export.read_text(encoding="utf-8").splitlines()
    position = positions_of(services, "certification.issued")[2]
    lines = [line.replace("竹地板", "木地板") if f'"position": {position},' in line else line
             for line in lines]
    export.write_text("\n".join(lines) + "\n", encoding="utf-8")
    broken = runner.invoke(main, args, env=offline)
    assert broken.exit_code == 1 and f"LEDGER BROKEN at position {position}:" in broken.stdout


def test_init_creates_a_signing_key_only_its_owner_can_read_and_keeps_it_when_run_again(
        settings, tmp_path):
    key = tmp_path / "keys" / "registry-signing.key"
    key.parent.mkdir()
    runner = CliRunner()
    first = runner.invoke(main, ["init"], env=_env(settings, key))
    assert first.exit_code == 0, first.output
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600
    key_id = Signer.load(key).key_id
    assert f"created at {key}" in first.stdout and key_id in first.stdout
    again = runner.invoke(main, ["init"], env=_env(settings, key))
    assert again.exit_code == 0 and f"found at {key}" in again.stdout
    assert Signer.load(key).key_id == key_id

    from api.services import Services

    svc = Services.open(settings)
    try:
        assert published_key(svc.engine)["key_id"] == key_id
    finally:
        svc.close()


def test_the_projector_process_seals_the_ledger_and_signs_its_head(settings, services,
                                                                    tmp_path):
    write_history(services, records=2)
    key = tmp_path / "signing.key"
    make_sealer(services, key)  # only makes the key, as `registry init` would
    env = {**os.environ, **_env(settings, key)}
    log = open(tmp_path / "projector.log", "wb")
    process = subprocess.Popen([str(BIN / "registry"), "projector"], env=env, cwd=tmp_path,
                               stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 90  # generous: CI machines are shared
        while time.monotonic() < deadline:
            status = ledger_status(services.engine, services.log)
            if (status["latest_checkpoint"] or {}).get("position") == services.log.max_position():
                break
            time.sleep(0.1)
    finally:
        process.terminate()
        process.wait(timeout=20)
        log.close()
    assert status["sealed_position"] == services.log.max_position(), (
        (tmp_path / "projector.log").read_text())
    assert status["latest_checkpoint"]["key_id"] == Signer.load(key).key_id


def test_a_tenant_export_verifies_against_the_ledger(services, token_for, app, tmp_path):
    """Record lines of `GET /v1/tenants/{code}/events.jsonl` carry their ledger fields, and
    `verify --from-export` checks each of them."""
    from projections.ledger_export import verify_export
    from tests.helpers import auth, issued, post

    client = app.test_client()
    cb = token_for("certification-body", "330000")
    for n in range(3):
        assert post(client, cb, issued(f"EXP-{n}", tenant="330523")).status_code == 201
    for processor in services.processors():
        processor.ensure_tracking()
        while processor.process_page(1000):
            pass
    admin = token_for("admin", "330500")
    lines = client.get("/v1/tenants/330500/events.jsonl",
                       headers=auth(admin)).get_data(as_text=True).splitlines()
    records = [json.loads(line) for line in lines if '"record"' in line]
    assert records and all("ledger" in line for line in records)
    report = verify_export(lines, None)
    assert report.ok, report
    tampered = [line.replace("EXP-1", "EXP-9") for line in lines]
    assert not verify_export(tampered, None).ok
