"""The kinds of records and their event types, gathered from each kind's module.

A new kind is a module of its own (events/<kind>.py: its event classes and its `KIND`)
added to `KIND_MODULES`; everything below is derived from the modules.
"""

from __future__ import annotations

from marshmallow import Schema

from events import award, boutique, certification, gi, standard
from events.base import RecordEvent
from events.kind import Kind
from events.record import RecordAmended, RecordTransferred, RecordVoided

KIND_MODULES = (certification, standard, award, gi, boutique)

KIND_SPECS: dict[str, Kind] = {module.KIND.name: module.KIND for module in KIND_MODULES}
KINDS: tuple[str, ...] = tuple(KIND_SPECS)
# The states of each kind's lifecycle (DESIGN.md 2.1), in lifecycle order.
STATES: dict[str, tuple[str, ...]] = {name: tuple(k.states) for name, k in KIND_SPECS.items()}

# Types that apply to a record of any kind.
ANY_KIND_EVENTS: tuple[type[RecordEvent], ...] = (RecordAmended, RecordTransferred, RecordVoided)
RECORD_EVENT_CLASSES: tuple[type[RecordEvent], ...] = (
    *(cls for kind in KIND_SPECS.values() for cls in kind.events), *ANY_KIND_EVENTS)
EVENT_TYPES: dict[str, type[RecordEvent]] = {cls.TYPE: cls for cls in RECORD_EVENT_CLASSES}

# The attributes each kind lets `record.amended` correct. Status, dates, award levels and
# GI types are not amendable: they change through lifecycle events (or void and re-enter).
AMENDABLE: dict[str, type[Schema]] = {name: k.changes for name, k in KIND_SPECS.items()}


def allowed_types(kind: str, state: str) -> list[str]:
    """Every type that may be posted for a record of this kind in this state."""
    return [name for name, cls in EVENT_TYPES.items()
            if cls.KIND in (kind, "") and cls.allowed_in(state)]


def status_on(kind: str, status: str, valid_until, day) -> str:
    """A record's state on a business date (events.kind.Lapse)."""
    return KIND_SPECS[kind].status_on(status, valid_until, day)
