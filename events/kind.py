"""What a kind of record declares about itself. Each kind's module (events/certification.py,
events/standard.py, ...) holds its event classes and one `Kind`: its states, the fields its
records are counted and shown by, what `record.amended` may correct, its breakdowns in the
counts, who writes it and its labels. Everything else (the write side, the projections,
the importer, the dashboard, the audit feed) reads them from there (events.catalogue).

The transitions, payload schemas, per-type checks and the fold are on the event classes
(events.base.RecordEvent: SOURCES, Payload, check, apply).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from marshmallow import Schema

# Pseudo-states of SOURCES: the type creates the record / is allowed in every state.
NEW = "(new)"
ANY = "(any)"

Label = tuple[str, str]  # (中文, English)


class RuleBroken(Exception):
    """A per-type check (RecordEvent.check) refused an event: about the data field `field`
    (a 422), or, without one, a conflict with the record's items (a 409) with `extra`."""

    def __init__(self, message: str, field: str | None = None, **extra: str) -> None:
        super().__init__(message)
        self.message, self.field, self.extra = message, field, extra


@dataclass(frozen=True)
class Breakdown:
    """A count of the records held in `state`, by the values of one attribute
    (`award.granted_by_level.provincial`)."""

    name: str
    state: str
    attribute: str
    values: tuple[str, ...]


@dataclass(frozen=True)
class Lapse:
    """A record in one of `states` is in state `to` on every day after its data.valid_until,
    with or without an event saying so (a certificate expires: DESIGN.md 2.1). The one
    definition: records, searches and the projector's timelines (which compare date
    ordinals, `valid_until + 1`) all follow it."""

    states: frozenset[str]
    to: str

    def status_on(self, status: str, valid_until: dt.date | None, day: dt.date) -> str:
        if status in self.states and valid_until is not None and day > valid_until:
            return self.to
        return status


@dataclass(frozen=True)
class Items:
    """Items issued under a record and counted on their own (international certificates
    under a certification): held while not withdrawn and the record is in `held_while`."""

    kind: str
    held_while: frozenset[str]


@dataclass(frozen=True)
class Kind:
    """One kind of record (DESIGN.md 1, 2.1)."""

    name: str
    label: Label
    # Every state in lifecycle order, with its labels.
    states: dict[str, Label]
    # The event classes of the kind (their TYPE starts with `name.`).
    events: tuple[type, ...]
    # The data field naming the organisation the record is about ({name, uscc}).
    holder_field: str
    # The data field a record is shown by in lists (product, title, name).
    label_field: str
    # What `record.amended` may correct.
    changes: type[Schema]
    breakdowns: tuple[Breakdown, ...] = ()
    # A count of distinct holders of records in this state (certification.holders_valid).
    holders_in: str | None = None
    lapse: Lapse | None = None
    items: Items | None = None
    # Roles whose principals may hold the kind in their kind list (admins and auditors read
    # every kind); `admin_writes`: admins post its lifecycle events.
    writer_roles: frozenset[str] = frozenset()
    admin_writes: bool = True
    # Admins write it only at the province or at the record's own tenant (not from a city
    # above a county's record).
    province_or_own_tenant: bool = False
    # The attribute whose level an admin must be entitled to record (award levels).
    level_attribute: str | None = None

    def status_on(self, status: str, valid_until: dt.date | None, day: dt.date) -> str:
        """The state on a business date (lapsed after valid_until where the kind lapses)."""
        return status if self.lapse is None else self.lapse.status_on(status, valid_until, day)

    def __post_init__(self) -> None:
        for cls in self.events:
            if cls.KIND != self.name or not cls.TYPE.startswith(f"{self.name}."):
                raise ValueError(f"{cls.__name__} is not an event of the kind {self.name}")
