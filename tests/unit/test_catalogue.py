"""The event catalogue: stored topics are data, and the packages imported are ours."""

from __future__ import annotations

from pathlib import Path

from eventsourcing.utils import get_topic

import api
import events
import projections
import registry
import tenants
from events import (
    EVENT_TYPES,
    KIND_SPECS,
    EnvelopeAccepted,
    PrincipalAdded,
    PrincipalRevoked,
    TenantRegistered,
)
from events.kind import ANY, NEW

ROOT = Path(__file__).resolve().parents[2]

# Renaming any of these is a data migration: old events would no longer load.
GOLDEN_TOPICS = {
    "certification.issued": "events.certification:CertificationIssued",
    "certification.renewed": "events.certification:CertificationRenewed",
    "certification.suspended": "events.certification:CertificationSuspended",
    "certification.reinstated": "events.certification:CertificationReinstated",
    "certification.withdrawn": "events.certification:CertificationWithdrawn",
    "certification.expired": "events.certification:CertificationExpired",
    "certification.international_issued": "events.certification:InternationalCertificateIssued",
    "certification.international_withdrawn":
        "events.certification:InternationalCertificateWithdrawn",
    "standard.drafting_approved": "events.standard:StandardDraftingApproved",
    "standard.published": "events.standard:StandardPublished",
    "standard.revised": "events.standard:StandardRevised",
    "standard.withdrawn": "events.standard:StandardWithdrawn",
    "award.nominated": "events.award:AwardNominated",
    "award.granted": "events.award:AwardGranted",
    "award.revoked": "events.award:AwardRevoked",
    "gi.applied": "events.gi:GiApplied",
    "gi.registered": "events.gi:GiRegistered",
    "gi.rejected": "events.gi:GiRejected",
    "gi.cancelled": "events.gi:GiCancelled",
    "boutique.listed": "events.boutique:BoutiqueListed",
    "boutique.delisted": "events.boutique:BoutiqueDelisted",
    "record.amended": "events.record:RecordAmended",
    "record.transferred": "events.record:RecordTransferred",
    "record.voided": "events.record:RecordVoided",
}


def test_every_wire_type_has_one_class_with_a_stable_topic():
    assert {t: get_topic(cls) for t, cls in EVENT_TYPES.items()} == GOLDEN_TOPICS


def test_registry_event_topics_are_stable():
    assert [get_topic(c) for c in (TenantRegistered, PrincipalAdded, PrincipalRevoked,
                                   EnvelopeAccepted)] == [
        "events.registry:TenantRegistered", "events.registry:PrincipalAdded",
        "events.registry:PrincipalRevoked", "events.registry:EnvelopeAccepted"]


def test_every_wire_type_declares_its_place_in_its_kinds_state_machine():
    for type_name, cls in EVENT_TYPES.items():
        kind = KIND_SPECS.get(cls.KIND)
        states = set(kind.states) if kind else set()
        assert cls.SOURCES and all(zh and en for zh, en in [cls.LABEL]), type_name
        if kind is None:  # record.*: every state of every kind
            assert cls.SOURCES == {ANY} and type_name.startswith("record."), type_name
            continue
        assert cls in kind.events and cls.SOURCES <= states | {NEW}, type_name
        assert cls.STATUS is None or cls.STATUS in states, type_name


def test_every_state_of_every_kind_is_reached_by_some_type():
    for name, kind in KIND_SPECS.items():
        reached = {cls.STATUS for cls in kind.events} - {None}
        assert set(kind.states) == reached, name
        assert kind.holder_field in {f for cls in kind.events for f in cls.payload_fields()}


def test_the_imported_packages_are_ours_not_look_alikes_from_the_index():
    for package in (api, events, projections, registry, tenants):
        assert Path(package.__file__).resolve().parent.parent == ROOT, package.__file__
