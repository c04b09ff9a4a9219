"""The service objects one process uses, built lazily (after gunicorn forks its workers)."""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass, field

from sqlalchemy import Engine

from api.settings import Settings
from events.store import EventLog
from projections.audit import AuditFeed, AuditIndex, create_audit_tables
from projections.db import ensure_schema, make_engine
from projections.status import create_status_table
from projections.families import FamilySet
from projections.ledger import LedgerSealer
from projections.ledger_signing import Signer
from projections.ledger_tables import create_ledger_tables
from projections.projector import Projector
from projections.queries import ReadModels
from projections.tables import create_read_models
from projections.webhooks import WebhookDeliverer, create_webhook_tables
from tenants.errors import NotFound
from registry.clock import Clock
from registry.openings import Openings
from registry.plans import Plans
from registry.service import Registry
from tenants import seed
from tenants.directory import Directory


@dataclass
class Services:
    """The event log, the directory, the record use cases and the read models."""

    settings: Settings
    log: EventLog
    directory: Directory
    registry: Registry
    engine: Engine
    families: FamilySet
    read_models: ReadModels
    plans: Plans
    measures: dict
    audit: AuditFeed
    _writer: Engine | None = field(default=None, repr=False)

    @classmethod
    def open(cls, settings: Settings, *, create_tables: bool = False,
             clock: Clock | None = None) -> "Services":
        if create_tables:
            ensure_schema(settings.database_url, settings.database_schema)
        log = EventLog(settings.database_url, settings.database_schema,
                       create_tables=create_tables)
        directory = Directory(log)
        if create_tables:  # on the primary, whatever serves the reads
            primary = make_engine(settings.database_url, settings.database_schema)
            try:
                create_read_models(primary)
                create_audit_tables(primary)
                create_status_table(primary)
                create_ledger_tables(primary)
                from api.throttle import create_throttle_table

                create_throttle_table(primary)
                create_webhook_tables(primary)
            finally:
                primary.dispose()
        engine = make_engine(settings.read_database_url or settings.database_url,
                             settings.database_schema)
        measures = seed.load("measures.json")["measures"]
        families = FamilySet.build(measures)
        openings = Openings(log, directory, [k for k, v in measures.items() if v], clock)
        return cls(settings, log, directory, Registry(log, directory, clock), engine, families,
                   ReadModels(engine, families), Plans(log, directory, openings, clock),
                   measures, AuditFeed(engine))

    def lineage(self, code: str) -> list[str]:
        """A tenant and its ancestors (reloading the tree for a tenant added meanwhile)."""
        tree = self.directory.tree()
        if code not in tree:
            tree = self.directory.refresh()
        return tree.lineage(code) if code in tree else [code]

    def writer_engine(self) -> Engine:
        if self._writer is None:
            self._writer = make_engine(self.settings.database_url,
                                       self.settings.database_schema, writer=True)
        return self._writer

    def projector(self, generation: int | None = None) -> Projector:
        return Projector(self.log, self.writer_engine(), self.lineage, self.families, generation)

    def signing_key_path(self) -> str:
        return signing_key_path(self.settings)

    def ledger_sealer(self) -> LedgerSealer:
        """The ledger sealer. Without a key file it seals but signs no checkpoints (logged);
        a key file that does not load is an error (SigningKeyError)."""
        path = self.signing_key_path()
        signer = Signer.load(path) if os.path.exists(path) else None
        if signer is None:
            logging.getLogger("registry.ledger").warning(
                "no signing key at %s (run `registry init`): sealing the ledger WITHOUT "
                "signed checkpoints", path)
        return LedgerSealer(
            self.log, self.writer_engine(), signer,
            checkpoint_every=int(_knob(self.settings, "ledger_checkpoint_every", 1000)),
            checkpoint_seconds=float(_knob(self.settings, "ledger_checkpoint_seconds", 60)))

    def audit_index(self) -> AuditIndex:
        return AuditIndex(self.log, self.writer_engine())

    def webhook_deliverer(self) -> WebhookDeliverer:
        return WebhookDeliverer(self.log, self.writer_engine(),
                                lambda code: self.directory.tree().subtree(code),
                                self._principal_revoked)

    def _principal_revoked(self, principal_id: str) -> bool:
        try:
            return self.directory.principal(principal_id).revoked
        except NotFound:
            return False  # the operator

    def processors(self) -> list:
        """Everything `registry projector` runs, in order (webhooks read the audit index,
        so they come after it)."""
        return [self.projector(), self.audit_index(), self.ledger_sealer(),
                self.webhook_deliverer()]

    def close(self) -> None:
        self.log.close()
        self.engine.dispose()
        if self._writer is not None:
            self._writer.dispose()


def _knob(settings: Settings, name: str, default: object) -> object:
    """settings.extra[name], else REGISTRY_{NAME} from the environment, else the default."""
    if settings.extra.get(name) is not None:
        return settings.extra[name]
    return os.environ.get(f"REGISTRY_{name.upper()}") or default


def signing_key_path(settings: Settings) -> str:
    """The ledger's signing key: REGISTRY_SIGNING_KEY_FILE, by default registry-signing.key
    in the working directory."""
    return str(_knob(settings, "signing_key_file", "registry-signing.key"))


class LazyServices:
    """Opens the services on first use, once per process."""

    def __init__(self, settings: Settings, clock: Clock | None = None) -> None:
        self.settings = settings
        self.clock = clock
        self._services: Services | None = None
        self._lock = threading.Lock()

    def get(self) -> Services:
        if self._services is None:
            with self._lock:
                if self._services is None:
                    self._services = Services.open(self.settings, clock=self.clock)
        return self._services

    def close(self) -> None:
        if self._services is not None:
            self._services.close()
            self._services = None
