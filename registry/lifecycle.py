"""The state machines of DESIGN.md 2.1: which types are allowed from which states."""

from __future__ import annotations

from dataclasses import dataclass

NEW = "(new)"
ANY = "(any)"


@dataclass(frozen=True)
class Transition:
    """From which states a type may be posted; the state it leads to is the event class's
    STATUS (None: unchanged)."""

    kind: str
    sources: frozenset[str]

    @property
    def creates(self) -> bool:
        return NEW in self.sources

    @property
    def only_creates(self) -> bool:
        return self.sources == frozenset({NEW})


def _t(kind: str, sources: set[str]) -> Transition:
    return Transition(kind, frozenset(sources))


TRANSITIONS: dict[str, Transition] = {
    "certification.issued": _t("certification", {NEW}),
    "certification.renewed": _t("certification", {"valid", "suspended"}),
    "certification.suspended": _t("certification", {"valid"}),
    "certification.reinstated": _t("certification", {"suspended"}),
    "certification.withdrawn": _t("certification", {"valid", "suspended"}),
    "certification.expired": _t("certification", {"valid", "suspended"}),
    "certification.international_issued": _t("certification", {"valid"}),
    "certification.international_withdrawn": _t("certification", {"valid", "suspended"}),
    "standard.drafting_approved": _t("standard", {NEW}),
    "standard.published": _t("standard", {NEW, "drafting"}),
    "standard.revised": _t("standard", {"published"}),
    "standard.withdrawn": _t("standard", {"drafting", "published"}),
    "award.nominated": _t("award", {NEW}),
    "award.granted": _t("award", {NEW, "nominated"}),
    "award.revoked": _t("award", {"granted"}),
    "gi.applied": _t("gi", {NEW}),
    "gi.registered": _t("gi", {NEW, "applied"}),
    "gi.rejected": _t("gi", {"applied"}),
    "gi.cancelled": _t("gi", {"registered"}),
    # Types of any kind: allowed in every state of a record that is not voided.
    "record.amended": _t("", {ANY}),
    "record.transferred": _t("", {ANY}),
    "record.voided": _t("", {ANY}),
}

# Types posted under a "when new" rule need these data fields to create the record.
REQUIRED_WHEN_NEW = {
    "standard.published": ("lead",),
    "award.granted": ("awardee",),
    "gi.registered": ("gi_type", "name", "applicant"),
}


def allowed_types(kind: str, state: str) -> list[str]:
    """Every type that may be posted for a record of this kind in this state."""
    if state == "voided":
        return []
    return [
        name for name, t in TRANSITIONS.items()
        if (t.kind == kind and state in t.sources) or ANY in t.sources
    ]


def is_allowed(event_type: str, state: str) -> bool:
    transition = TRANSITIONS[event_type]
    if state == "voided":
        return False
    return ANY in transition.sources or state in transition.sources
