"""`registry ledger ...`: verify the tamper-evident ledger, export it whole, show its state."""

from __future__ import annotations

import datetime as dt
import json
import os
import stat
import sys
from pathlib import Path

import click
from sqlalchemy import inspect

from api.services import Services, signing_key_path
from api.settings import Settings
from api.store_check import require_store
from projections.ledger import all_checkpoints, ledger_fields, ledger_status, publish_key
from projections.ledger_signing import (
    Signer,
    SigningKeyError,
    generate_key_file,
    load_public_key,
)
from projections.ledger_tables import tracking
from projections.ledger_export import export_lines, verify_export
from projections.ledger_verify import Report, verify_store


def prepare_signing_key(svc: Services) -> str:
    """Create the signing key when absent (mode 0600) and publish its public key; return a
    line for the operator. Part of `registry init`."""
    path = svc.signing_key_path()
    try:
        signer, created = generate_key_file(path)
    except SigningKeyError as exc:
        raise click.ClickException(str(exc)) from None
    with svc.writer_engine().begin() as conn:
        publish_key(conn, signer, dt.datetime.now(dt.timezone.utc).replace(tzinfo=None))
    mode = stat.S_IMODE(os.stat(path).st_mode)
    warning = (f" WARNING: {path} is readable by others (mode {mode:o}); chmod 600 it"
               if mode & 0o077 else "")
    return (f"ledger signing key {'created at' if created else 'found at'} {path} "
            f"(Ed25519, key id {signer.key_id}).{warning}")


@click.group("ledger")
def ledger() -> None:
    """The tamper-evident ledger: a hash chain over every event, with signed checkpoints."""


def _open_ledger(settings: Settings) -> Services:
    """The services, refusing a database without the ledger's tables."""
    require_store(settings)
    svc = Services.open(settings)
    if not inspect(svc.engine).has_table(tracking.name):
        svc.close()
        raise click.ClickException(f"no ledger in {settings.database_url} (schema "
                                   f"{settings.database_schema}); run `registry init`")
    return svc


def _trusted_key(settings: Settings, public_key_path: str | None):
    if public_key_path:
        try:
            return load_public_key(Path(public_key_path).read_bytes())
        except SigningKeyError as exc:
            raise click.ClickException(f"{public_key_path}: {exc}") from None
    path = signing_key_path(settings)
    if not os.path.exists(path):
        return None
    try:
        return Signer.load(path).public_key
    except SigningKeyError as exc:
        raise click.ClickException(str(exc)) from None


def _read_checkpoints(paths: tuple[str, ...]) -> list[dict]:
    found = []
    for path in paths:
        try:
            checkpoint = json.loads(Path(path).read_text(encoding="utf-8"))
        except ValueError as exc:
            raise click.ClickException(f"{path} is not a checkpoint JSON: {exc}") from None
        if not isinstance(checkpoint, dict):
            raise click.ClickException(f"{path} is not a checkpoint JSON object")
        found.append(checkpoint)
    return found


def _print(report: Report, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(report.as_json(), ensure_ascii=False, indent=2))
    elif report.ok:
        click.echo(f"ledger verified ({report.source}): {report.entries} entries up to "
                   f"position {report.head}; {report.checkpoints} signed checkpoint(s) "
                   f"verified; authenticated up to position {report.authenticated_up_to}")
    else:
        first = report.first_break
        if first is not None:
            where = (f"positions {first.since}..{first.position}" if first.since is not None
                     else f"position {first.position}")
            click.echo(f"LEDGER BROKEN at {where}: {first.problem}")
            for other in sorted(report.breaks, key=lambda b: b.position):
                if other is not first:
                    click.echo(f"  also at position {other.position}: {other.problem}")
        for problem in report.problems:
            click.echo(f"PROBLEM: {problem}")
    if not as_json:
        for note in report.notes:
            click.echo(f"note: {note}")


@ledger.command("verify")
@click.option("--from-export", "export_path", type=click.Path(exists=True, dir_okay=False),
              help="Verify a JSON Lines export instead of the store.")
@click.option("--public-key", "public_key_path", type=click.Path(exists=True, dir_okay=False),
              help="The trusted public key (PEM). Default: the one of the signing key file.")
@click.option("--checkpoint", "checkpoint_paths", multiple=True,
              type=click.Path(exists=True, dir_okay=False),
              help="A checkpoint kept independently (the JSON of GET "
                   "/v1/ledger/checkpoints/latest); repeatable.")
@click.option("--offline", is_flag=True,
              help="With --from-export: do not open the database (a regulator's check).")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def verify(export_path, public_key_path, checkpoint_paths, offline, as_json) -> None:
    """Recompute the chain and check it against the ledger and every signed checkpoint;
    exit 1 naming the first position where it breaks."""
    settings = Settings.from_env()
    public_key = _trusted_key(settings, public_key_path)
    extra = _read_checkpoints(checkpoint_paths)
    if export_path and offline:
        with open(export_path, encoding="utf-8") as handle:
            report = verify_export(handle, public_key, extra)
    else:
        if public_key is None and not export_path:
            raise click.ClickException(
                f"no trusted public key: pass --public-key, or keep the signing key at "
                f"{signing_key_path(settings)}")
        svc = _open_ledger(settings)
        try:
            if export_path:
                with open(export_path, encoding="utf-8") as handle:
                    lines = handle.readlines()
                positions = []
                for text in lines:
                    try:
                        position = json.loads(text).get("position")
                    except (ValueError, AttributeError):
                        continue
                    if isinstance(position, int):
                        positions.append(position)
                report = verify_export(lines, public_key, extra + all_checkpoints(svc.engine),
                                       stored=ledger_fields(svc.engine, positions))
            else:
                report = verify_store(svc.log, svc.engine, public_key, extra)
        finally:
            svc.close()
    _print(report, as_json)
    if not report.ok:
        sys.exit(1)


@ledger.command("export-all")
@click.argument("path", type=click.Path(dir_okay=False, writable=True))
def export_all(path: str) -> None:
    """Write the whole ledger as JSON Lines (a header with the latest checkpoint, then each
    event's document with its "ledger" fields), for `ledger verify --from-export --offline`."""
    svc = _open_ledger(Settings.from_env())
    count = 0
    try:
        with open(path, "w", encoding="utf-8") as handle:
            for line in export_lines(svc.log, svc.engine):
                handle.write(json.dumps(line, ensure_ascii=False) + "\n")
                count += 1
    finally:
        svc.close()
    click.echo(f"{count - 1} ledger entries written to {path}", err=True)


@ledger.command("status")
def status() -> None:
    """Where sealing stands: sealed head, latest checkpoint, and a halt if there is one."""
    svc = _open_ledger(Settings.from_env())
    try:
        body = ledger_status(svc.engine, svc.log)
    finally:
        svc.close()
    click.echo(json.dumps(body, ensure_ascii=False, indent=2))
    if body["halted"]:
        sys.exit(1)


__all__ = ["ledger", "prepare_signing_key"]
