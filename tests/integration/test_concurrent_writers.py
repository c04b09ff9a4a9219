"""Writers in separate processes (as gunicorn workers are) on one store: nothing lost, nothing
stored twice, and a race on one record resolved by expected_version."""

from __future__ import annotations

import dataclasses
import multiprocessing
import random

from api.services import Services
from api.settings import Settings
from events import EVENT_TYPES
from events.envelope import parse_envelope
from registry.clock import Clock
from registry.errors import VersionConflict, WriteContention
from tenants.scope import Scope
from tests.consistency import assert_store_matches_acknowledgements
from tests.helpers import envelope, issued

WRITERS = 4
SHARED = [f"MP-SHARED-{i}" for i in range(3)]


def _open(settings: dict, token: str) -> tuple[Services, Scope]:
    svc = Services.open(Settings(**settings))
    principal = svc.directory.authenticate(token)
    return svc, Scope(principal, svc.directory.tree())


def _parse(body: dict):
    return parse_envelope(body, EVENT_TYPES, Clock().today())


def _until_stored(call, *args):
    """What a client does on 503 write-contention: send the same request again."""
    for _ in range(20):
        try:
            return call(*args)
        except WriteContention:
            continue
    raise AssertionError("still contended after 20 tries")


def _writer(settings: dict, token: str, worker: int, barrier, results) -> None:
    """Singles and batches on shared and own records, with retries of sent envelopes."""
    svc, scope = _open(settings, token)
    rng = random.Random(worker)
    acknowledged: dict[str, int] = {}
    sent = []
    try:
        barrier.wait(timeout=60)
        for n in range(12):
            single = _parse(envelope("certification.international_issued", rng.choice(SHARED),
                                     "2023-06-01", {"certificate_no": f"W{worker}-{n}",
                                                    "partner": "IQNet", "country": "DE"}))
            receipt = _until_stored(svc.registry.record, scope, single)
            acknowledged[str(receipt.id)] = receipt.position
            sent.append(single)
            batch = [_parse(issued(f"MP-{worker}-{n}")), _parse(envelope(
                "certification.suspended", f"MP-{worker}-{n}", "2023-06-01", {"reason": "r"})),
                _parse(envelope("certification.international_issued", rng.choice(SHARED),
                                "2023-06-01", {"certificate_no": f"B{worker}-{n}",
                                               "partner": "IQNet", "country": "FR"}))]
            for receipt in _until_stored(svc.registry.record_batch, scope, batch).receipts:
                acknowledged[str(receipt.id)] = receipt.position
            if rng.random() < 0.5:  # a retry of something sent before answers the same
                again = rng.choice(sent)
                replayed = _until_stored(svc.registry.record, scope, again)
                assert replayed.replayed and replayed.position == acknowledged[str(again.id)]
        results.put(("ok", acknowledged))
    except Exception as exc:  # report to the parent instead of dying silently
        results.put(("error", repr(exc)))
    finally:
        svc.close()


def _racer(settings: dict, token: str, body: dict, barrier, results) -> None:
    svc, scope = _open(settings, token)
    try:
        barrier.wait(timeout=60)
        try:
            receipt = svc.registry.record(scope, _parse(body))
            results.put(("stored", receipt.position))
        except VersionConflict as conflict:
            results.put(("conflict", conflict.extra["current_version"]))
    finally:
        svc.close()


def _run(target, args_per_process) -> list:
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(len(args_per_process))
    results = context.Queue()
    processes = [context.Process(target=target, args=(*args, barrier, results))
                 for args in args_per_process]
    for process in processes:
        process.start()
    answers = [results.get(timeout=120) for _ in processes]
    for process in processes:
        process.join(timeout=30)
    return answers


def test_writers_in_separate_processes_neither_lose_nor_duplicate_events(settings, services,
                                                                        token_for):
    token = token_for("certification-body", "330500")
    svc, scope = _open(dataclasses.asdict(settings), token)
    acknowledged = {}
    for key in SHARED:
        receipt = svc.registry.record(scope, _parse(issued(key)))
        acknowledged[str(receipt.id)] = receipt.position
    svc.close()

    answers = _run(_writer, [(dataclasses.asdict(settings), token, w) for w in range(WRITERS)])
    assert all(status == "ok" for status, _ in answers), answers
    for _, written in answers:
        acknowledged.update(written)
    assert len(acknowledged) == len(SHARED) + WRITERS * 12 * 4
    assert assert_store_matches_acknowledgements(services.log, acknowledged) == len(acknowledged)


def test_two_processes_racing_with_expected_version_get_one_success_and_one_conflict(
        settings, services, token_for):
    token = token_for("certification-body", "330500")
    svc, scope = _open(dataclasses.asdict(settings), token)
    for round_ in range(3):
        svc.registry.record(scope, _parse(issued(f"MP-RACE-{round_}")))
        bodies = [envelope("certification.international_issued", f"MP-RACE-{round_}",
                           "2023-06-01", {"certificate_no": f"R{i}", "partner": "IQNet",
                                          "country": "DE"}, expected_version=1)
                  for i in range(2)]
        answers = _run(_racer, [(dataclasses.asdict(settings), token, b) for b in bodies])
        assert sorted(status for status, _ in answers) == ["conflict", "stored"], answers
        assert dict(answers)["conflict"] == 2
        assert [p.event.originator_version for p in svc.registry.get_history(
            scope, "certification", f"MP-RACE-{round_}")] == [1, 2]
    svc.close()


