"""Idempotency by envelope id: durable, and safe when identical requests race."""

from __future__ import annotations

import copy
import threading

from api import create_app
from tests.helpers import auth, envelope, issued, post


def events_of(client, token, key):
    return client.get(f"/v1/records/certification/{key}/events", headers=auth(token)).json["events"]


def test_the_same_envelope_twice_stores_one_event_and_answers_the_stored_result(client, token_for):
    cb = token_for("certification-body", "330500")
    body = issued("I-1")
    first = post(client, cb, body)
    again = post(client, cb, copy.deepcopy(body))
    assert first.status_code == 201 and again.status_code == 200
    assert again.json == first.json
    assert len(events_of(client, cb, "I-1")) == 1


def test_a_retry_after_later_events_still_answers_the_original_result(client, token_for):
    cb = token_for("certification-body", "330500")
    body = issued("I-2")
    first = post(client, cb, body)
    assert post(client, cb, envelope("certification.suspended", "I-2", "2023-06-01",
                                     {"reason": "r"})).status_code == 201
    again = post(client, cb, body)
    assert again.status_code == 200 and again.json == first.json


def test_a_different_envelope_under_a_used_id_is_a_conflict(client, token_for):
    cb = token_for("certification-body", "330500")
    body = issued("I-3")
    assert post(client, cb, body).status_code == 201
    changed = copy.deepcopy(body)
    changed["data"]["product"] = "另一个产品"
    response = post(client, cb, changed)
    assert response.status_code == 409
    assert response.json["id"] == body["id"]
    other_record = copy.deepcopy(body)
    other_record["record"] = "I-3-OTHER"
    assert post(client, cb, other_record).status_code == 409
    assert len(events_of(client, cb, "I-3")) == 1
    assert client.get("/v1/records/certification/I-3-OTHER", headers=auth(cb)).status_code == 404


def test_the_same_id_from_another_principal_is_a_conflict(client, token_for):
    first, second = token_for("certification-body", "330500"), token_for("certification-body",
                                                                         "330500")
    body = issued("I-4")
    assert post(client, first, body).status_code == 201
    assert post(client, second, body).status_code == 409


def test_idempotency_survives_a_restart(settings, services, token_for):
    cb = token_for("certification-body", "330500")
    body = issued("I-5")
    app = create_app(settings=settings)
    first = post(app.test_client(), cb, body)
    app.extensions["registry"].close()
    restarted = create_app(settings=settings)
    again = post(restarted.test_client(), cb, body)
    restarted.extensions["registry"].close()
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json == first.json


def test_identical_requests_racing_store_one_event(app, token_for):
    cb = token_for("certification-body", "330500")
    body = issued("I-6")
    barrier = threading.Barrier(6)
    results = []

    def send():
        client = app.test_client()
        barrier.wait()
        response = post(client, cb, body)
        results.append((response.status_code, response.json))

    threads = [threading.Thread(target=send) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    codes = sorted(code for code, _ in results)
    assert codes == [200] * 5 + [201], results
    assert len({r["position"] for _, r in results}) == 1
    assert len(events_of(app.test_client(), cb, "I-6")) == 1


def test_racing_writers_on_one_record_without_expected_version_both_land(app, token_for):
    cb = token_for("certification-body", "330500")
    client = app.test_client()
    assert post(client, cb, issued("I-7")).status_code == 201
    bodies = [envelope("certification.international_issued", "I-7", "2023-06-01",
                       {"certificate_no": f"N{i}", "partner": "IQNet", "country": "DE"})
              for i in range(4)]
    barrier = threading.Barrier(len(bodies))
    codes = []

    def send(body):
        local = app.test_client()
        barrier.wait()
        codes.append(post(local, cb, body).status_code)

    threads = [threading.Thread(target=send, args=(b,)) for b in bodies]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert codes == [201] * 4
    versions = [e["version"] for e in events_of(client, cb, "I-7")]
    assert versions == [1, 2, 3, 4, 5]


def test_racing_writers_with_expected_version_get_one_success_and_one_conflict(app, token_for):
    cb = token_for("certification-body", "330500")
    client = app.test_client()
    assert post(client, cb, issued("I-8")).status_code == 201
    bodies = [envelope("certification.international_issued", "I-8", "2023-06-01",
                       {"certificate_no": f"N{i}", "partner": "IQNet", "country": "DE"},
                       expected_version=1) for i in range(2)]
    barrier = threading.Barrier(2)
    results = []

    def send(body):
        local = app.test_client()
        barrier.wait()
        response = post(local, cb, body)
        results.append((response.status_code, response.json))

    threads = [threading.Thread(target=send, args=(b,)) for b in bodies]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(code for code, _ in results) == [201, 409]
    conflict = next(body for code, body in results if code == 409)
    assert conflict["current_version"] == 2


def test_a_write_whose_answer_was_lost_with_the_database_is_in_doubt_and_a_retry_settles_it(
        app, client, token_for, monkeypatch):
    """The connection can die after PostgreSQL committed but before it said so (a fast
    shutdown does this). The 503 must not claim that nothing was stored; the same envelope
    sent again is answered from what was stored, once."""
    from eventsourcing.persistence import OperationalError

    cb = token_for("certification-body", "330500")
    log = app.extensions["registry"].get().registry.log
    append = log.append

    def committed_then_lost(*items):
        append(*items)
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(log, "append", committed_then_lost)
    body = issued("DOUBT-1")
    lost = post(client, cb, body)
    assert lost.status_code == 503 and lost.headers["Retry-After"]
    assert lost.json["type"].endswith("database-unavailable")
    assert "nothing was stored" not in lost.json["detail"]
    assert "same request" in lost.json["detail"]
    in_chinese = client.post("/v1/events", json=issued("DOUBT-2"),
                             headers={**auth(cb), "Accept-Language": "zh-CN"})
    assert in_chinese.status_code == 503 and "可能已经登记" in in_chinese.json["detail"]
    monkeypatch.setattr(log, "append", append)
    again = post(client, cb, copy.deepcopy(body))
    assert again.status_code == 200  # the stored result, not a second event
    assert len(events_of(client, cb, "DOUBT-1")) == 1
