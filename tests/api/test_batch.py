"""POST /v1/events/batch: atomic, per-index errors, idempotent per envelope."""

from __future__ import annotations

import copy
import json
import threading

import pytest

from tests.helpers import auth, envelope, issued, post


def post_batch(client, token, events):
    return client.post("/v1/events/batch", json={"events": events}, headers=auth(token))


def history(client, token, key):
    response = client.get(f"/v1/records/certification/{key}/events", headers=auth(token))
    return response.json["events"] if response.status_code == 200 else []


def suspended(key, occurred_on="2023-06-01", **extra):
    return envelope("certification.suspended", key, occurred_on, {"reason": "抽查不合格"}, **extra)


def assert_refused(response, status):
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    body = response.json
    assert body["type"] == "/problems/batch-refused" and body["status"] == status
    assert "nothing was stored" in body["detail"]
    return body


@pytest.fixture
def cb(token_for):
    return token_for("certification-body", "330500")


def test_a_batch_is_stored_in_order_and_answers_one_receipt_per_envelope(client, cb):
    events = [issued("B-1"), issued("B-2"), issued("B-3")]
    response = post_batch(client, cb, events)
    assert response.status_code == 201
    results = response.json["results"]
    assert [r["id"] for r in results] == [e["id"] for e in events]
    assert [r["record"] for r in results] == ["B-1", "B-2", "B-3"]
    positions = [r["position"] for r in results]
    assert positions == sorted(positions) and len(set(positions)) == 3
    single = post(client, cb, issued("B-4")).json
    assert set(results[0]) == set(single)
    assert [len(history(client, cb, k)) for k in ("B-1", "B-2", "B-3")] == [1, 1, 1]


def test_events_in_one_batch_build_on_each_other(client, cb):
    events = [issued("B-10"), suspended("B-10", expected_version=1),
              envelope("certification.reinstated", "B-10", "2023-07-01", {}, expected_version=2)]
    response = post_batch(client, cb, events)
    assert response.status_code == 201
    assert [r["version"] for r in response.json["results"]] == [1, 2, 3]
    assert [e["type"] for e in history(client, cb, "B-10")] == [
        "certification.issued", "certification.suspended", "certification.reinstated"]


def test_every_invalid_envelope_is_reported_by_index_and_nothing_is_stored(client, cb):
    bad_country = envelope("certification.international_issued", "B-20", "2023-06-01",
                           {"certificate_no": "1", "partner": "IQNet", "country": "XX"})
    no_product = issued("B-21")
    del no_product["data"]["product"]
    events = [issued("B-20"), bad_country, no_product, issued("B-22")]
    body = assert_refused(post_batch(client, cb, events), 422)
    assert body["refused"] == [1, 2]
    assert set(body["errors"]) == {"1", "2"}
    assert "data.country" in body["errors"]["1"]
    assert "data.product" in body["errors"]["2"]
    assert history(client, cb, "B-20") == [] and history(client, cb, "B-22") == []


def test_a_conflict_at_one_index_refuses_the_batch_with_that_index(client, cb):
    assert post(client, cb, issued("B-30")).status_code == 201
    events = [issued("B-31"), issued("B-30"), suspended("B-31"), suspended("B-31", "2023-06-02")]
    body = assert_refused(post_batch(client, cb, events), 409)
    assert body["refused"] == [1, 3]
    assert body["conflicts"]["1"]["type"] == "/problems/record-exists"
    assert body["conflicts"]["3"]["type"] == "/problems/illegal-transition"
    assert body["conflicts"]["3"]["state"] == "suspended"
    assert body["conflicts"]["3"]["status"] == 409 and body["conflicts"]["3"]["detail"]
    assert history(client, cb, "B-31") == []


def test_a_stale_expected_version_is_a_conflict_naming_the_current_version(client, cb):
    assert post(client, cb, issued("B-35")).status_code == 201
    assert post(client, cb, suspended("B-35")).status_code == 201
    events = [envelope("certification.reinstated", "B-35", "2023-07-01", {}, expected_version=1)]
    body = assert_refused(post_batch(client, cb, events), 409)
    assert body["conflicts"]["0"]["current_version"] == 2
    assert body["conflicts"]["0"]["expected_version"] == 1


def test_refusals_of_every_status_are_grouped_and_the_gravest_status_answers(client, cb):
    assert post(client, cb, issued("B-40")).status_code == 201
    bad = issued("B-41")
    bad["data"]["valid_until"] = "2020-01-01"
    events = [issued("B-42", tenant="330100"), suspended("B-43"), suspended("B-40"),
              suspended("B-40", "2023-06-02")]
    body = assert_refused(post_batch(client, cb, events), 409)
    assert set(body["forbidden"]) == {"0"} and body["forbidden"]["0"]["status"] == 403
    assert set(body["not_found"]) == {"1"} and body["not_found"]["1"]["status"] == 404
    assert set(body["conflicts"]) == {"3"}
    without_conflict = assert_refused(post_batch(client, cb, events[:2]), 403)
    assert set(without_conflict["not_found"]) == {"1"}
    assert_refused(post_batch(client, cb, events[1:2]), 404)
    assert_refused(post_batch(client, cb, [bad, *events]), 422)


def test_each_envelope_is_judged_without_the_refused_ones_before_it(client, cb):
    events = [issued("B-50", tenant="330100"), suspended("B-50"), issued("B-51")]
    body = assert_refused(post_batch(client, cb, events), 403)
    assert body["refused"] == [0, 1]
    assert body["not_found"]["1"]["record"] == "B-50"


def test_a_retried_batch_answers_the_original_results_and_stores_nothing(client, cb):
    events = [issued("B-60"), suspended("B-60"), issued("B-61")]
    first = post_batch(client, cb, events)
    again = post_batch(client, cb, copy.deepcopy(events))
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json == first.json
    assert len(history(client, cb, "B-60")) == 2


def test_a_single_post_of_an_envelope_stored_by_a_batch_answers_its_result(client, cb):
    events = [issued("B-65"), suspended("B-65")]
    first = post_batch(client, cb, events).json["results"]
    again = post(client, cb, events[1])
    assert again.status_code == 200 and again.json == first[1]


def test_a_batch_mixing_stored_and_new_envelopes_is_refused_naming_the_stored_ones(client, cb):
    stored = issued("B-70")
    first = post(client, cb, stored).json
    events = [issued("B-71"), stored, suspended("B-72"), suspended("B-70")]
    body = assert_refused(post_batch(client, cb, events), 409)
    assert body["refused"] == [1, 2]
    conflict = body["conflicts"]["1"]
    assert conflict["type"] == "/problems/envelope-already-stored"
    assert conflict["position"] == first["position"] and conflict["id"] == stored["id"]
    assert set(body["not_found"]) == {"2"}  # the new envelopes are judged in the same answer
    assert history(client, cb, "B-71") == [] and len(history(client, cb, "B-70")) == 1
    resent = post_batch(client, cb, [events[0], events[3]])
    assert resent.status_code == 201


def test_a_changed_envelope_under_a_stored_id_is_refused_at_its_index(client, cb):
    stored = issued("B-75")
    assert post(client, cb, stored).status_code == 201
    changed = copy.deepcopy(stored)
    changed["data"]["product"] = "另一个产品"
    body = assert_refused(post_batch(client, cb, [changed]), 409)
    assert body["conflicts"]["0"]["type"] == "/problems/envelope-id-reused"


def test_the_same_id_twice_in_a_batch_names_both_indexes(client, cb):
    first = issued("B-80")
    twin = {**issued("B-81"), "id": first["id"]}
    body = assert_refused(post_batch(client, cb, [first, issued("B-82"), twin]), 422)
    assert set(body["errors"]) == {"0", "2"}
    assert "index 2" in body["errors"]["0"]["id"][0]
    assert "index 0" in body["errors"]["2"]["id"][0]
    assert history(client, cb, "B-80") == []


def test_more_than_1000_envelopes_are_refused_naming_the_limit(client, cb):
    events = [issued(f"B-90-{i}") for i in range(1001)]
    response = post_batch(client, cb, events)
    assert response.status_code == 413
    assert response.mimetype == "application/problem+json"
    assert response.json["max_events"] == 1000 and "1000" in response.json["detail"]
    assert history(client, cb, "B-90-0") == []


def test_a_batch_may_be_larger_than_a_single_event_body(client, cb):
    reason = "监督抽查不合格" * 140
    events = [issued("B-95")] + [
        envelope("record.amended", "B-95", "2023-06-01", {"changes": {"product": f"竹地板{i}"},
                                                          "reason": reason},
                 kind="certification") for i in range(800)]
    raw = json.dumps({"events": events}, ensure_ascii=False).encode()
    assert len(raw) > 2 * 1024 * 1024
    response = client.post("/v1/events/batch", data=raw,
                           headers={**auth(cb), "Content-Type": "application/json"})
    assert response.status_code == 201, response.get_data(as_text=True)[:300]
    assert response.json["results"][-1]["version"] == 801


def test_a_body_over_16_mib_is_refused_with_413(client, cb):
    raw = b'{"events": [], "pad": "' + b"x" * (17 * 1024 * 1024) + b'"}'
    response = client.post("/v1/events/batch", data=raw,
                           headers={**auth(cb), "Content-Type": "application/json"})
    assert response.status_code == 413
    assert response.mimetype == "application/problem+json"


MALFORMED = [
    b"",
    b"{",
    b"[]",
    b"null",
    b'"events"',
    b'{"events": null}',
    b'{"events": {}}',
    b'{"events": "x"}',
    b'{"events": []}',
    b'{"events": [null, 1, "x", [], {}]}',
    b'{"events": [[[[[[[[[[[[]]]]]]]]]]]]}',
    b'{"events": [{"id": {"nested": [1, {"deep": null}]}, "data": [[[]]]}]}',
    b'{"other": 1}',
    b'{"events": [' + b"[" * 50000 + b"]" * 50000 + b"]}",
    json.dumps({"events": [{**issued("BM"), "expected_version": True}]}).encode(),
    json.dumps({"events": [{**issued("BM"), "data": {"holder": {"uscc": {"a": 1}}}}]}).encode(),
    json.dumps({"events": [issued("BM")], "extra": True}).encode(),
]


@pytest.mark.parametrize("raw", MALFORMED, ids=range(len(MALFORMED)))
def test_a_malformed_batch_is_a_problem_not_a_crash(client, cb, raw):
    response = client.post("/v1/events/batch", data=raw,
                           headers={**auth(cb), "Content-Type": "application/json"})
    assert 400 <= response.status_code < 500, response.get_data(as_text=True)[:500]
    assert response.mimetype == "application/problem+json"
    assert "Traceback" not in response.get_data(as_text=True)
    assert history(client, cb, "BM") == []


def test_items_that_are_not_objects_are_named_by_index(client, cb):
    response = client.post("/v1/events/batch", json={"events": [issued("BN"), 5, None]},
                           headers=auth(cb))
    body = assert_refused(response, 422)
    assert set(body["errors"]) == {"1", "2"}


def test_a_batch_needs_a_live_token(client):
    response = post_batch(client, "qbr_nope", [issued("BT")])
    assert response.status_code == 401
    assert response.mimetype == "application/problem+json"


def post_batches_at_once(app, token, batches):
    """Post each batch from its own thread, all released together; (status, body) each."""
    barrier = threading.Barrier(len(batches))
    results = []

    def send(events):
        client = app.test_client()
        barrier.wait()
        response = post_batch(client, token, events)
        results.append((response.status_code, response.json))

    threads = [threading.Thread(target=send, args=(events,)) for events in batches]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_identical_batches_racing_store_once_and_all_answer_the_same_positions(app, cb):
    events = [issued("B-100"), suspended("B-100"), issued("B-101")]
    results = post_batches_at_once(app, cb, [events] * 4)
    assert sorted(code for code, _ in results) == [200, 200, 200, 201], results
    assert len({json.dumps(body, sort_keys=True) for _, body in results}) == 1
    assert len(history(app.test_client(), cb, "B-100")) == 2


def test_batches_racing_on_one_record_with_expected_version_get_one_success(app, cb):
    client = app.test_client()
    assert post(client, cb, issued("B-110")).status_code == 201
    batches = [[issued(f"B-11{i}"),
                envelope("certification.international_issued", "B-110", "2023-06-01",
                         {"certificate_no": f"N{i}", "partner": "IQNet", "country": "DE"},
                         expected_version=1)] for i in (1, 2)]
    results = post_batches_at_once(app, cb, batches)
    assert sorted(code for code, _ in results) == [201, 409], results
    conflict = next(body for code, body in results if code == 409)
    assert conflict["refused"] == [1]
    assert conflict["conflicts"]["1"]["current_version"] == 2
    assert [e["version"] for e in history(client, cb, "B-110")] == [1, 2]


def test_the_batch_endpoint_is_documented(client):
    spec = client.get("/openapi.json").json
    operation = spec["paths"]["/v1/events/batch"]["post"]
    assert {"200", "201", "409", "413", "422"} <= set(operation["responses"])
    assert "BatchRefused" in json.dumps(operation)
