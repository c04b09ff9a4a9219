"""Webhook subscriptions end to end against a loopback receiver (issue 17): in-scope events
delivered once each in position order with a verifiable signature, out-of-scope events never,
a receiver that fails twice gets the third try, a restart mid-delivery loses nothing (at
least once), a subscription failing too long is marked failing and can be resumed; SSRF
refused."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from projections import webhooks
from tests.helpers import auth, envelope, issued, post


class Receiver:
    """A loopback HTTP server recording deliveries; it can fail the next N requests."""

    def __init__(self) -> None:
        self.received: list[dict] = []
        self.fail_next = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - the http.server API
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if receiver.fail_next:
                    receiver.fail_next -= 1
                    self.send_response(503)
                    self.end_headers()
                    return
                receiver.received.append({"headers": dict(self.headers), "body": body})
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()


@pytest.fixture
def receiver(monkeypatch):
    monkeypatch.setenv("REGISTRY_WEBHOOKS_ALLOW_HTTP_LOOPBACK", "1")
    monkeypatch.setenv("REGISTRY_WEBHOOK_BACKOFF_SECONDS", "0")
    server = Receiver()
    yield server
    server.stop()


def run_processors(services, rounds: int = 5) -> None:
    """What the projector process does: the audit index, then the deliveries."""
    index, deliverer = services.audit_index(), services.webhook_deliverer()
    index.ensure_tracking()
    deliverer.ensure_tracking()
    for _ in range(rounds):
        while index.process_page(5000):
            pass
        deliverer.process_page()


def subscribe(client, token, url, tenant="330500", types=("certification.issued",
                                                           "certification.suspended")):
    response = client.post("/v1/subscriptions", headers=auth(token),
                           json={"url": url, "types": list(types), "tenant": tenant})
    assert response.status_code == 201, response.json
    return response.json


def test_in_scope_events_are_delivered_once_in_order_and_signed(client, services, token_for,
                                                                receiver):
    huzhou = token_for("admin", "330500")
    sub = subscribe(client, huzhou, receiver.url)
    assert len(sub["secret"]) > 30
    cb = token_for("certification-body", "330000")
    assert post(client, cb, issued("WH-1", tenant="330523")).status_code == 201
    assert post(client, cb, issued("WH-OUT", tenant="330102")).status_code == 201  # Hangzhou
    assert post(client, cb, envelope("certification.suspended", "WH-1", "2024-01-01",
                                     {"reason": "r"})).status_code == 201
    run_processors(services)
    bodies = [json.loads(r["body"]) for r in receiver.received]
    assert [(b["record"], b["type"]) for b in bodies] == [
        ("WH-1", "certification.issued"), ("WH-1", "certification.suspended")]
    positions = [int(r["headers"]["X-Registry-Position"]) for r in receiver.received]
    assert positions == sorted(positions)
    for delivery in receiver.received:
        expected = "sha256=" + hmac.new(sub["secret"].encode(), delivery["body"],
                                        hashlib.sha256).hexdigest()
        assert delivery["headers"]["X-Registry-Signature"] == expected
        assert delivery["headers"]["X-Registry-Event-Id"] == json.loads(delivery["body"])["id"]
    run_processors(services)
    assert len(receiver.received) == 2  # nothing twice when nothing failed
    status = client.get(f"/v1/subscriptions/{sub['id']}", headers=auth(huzhou)).json
    assert status["state"] == "active" and status["delivered"] == 2
    assert status["position"] == positions[-1] and "secret" not in status
    feed = client.get("/v1/tenants/330500/events", query_string={"type": "subscription.created"},
                      headers=auth(huzhou)).json["events"]
    assert feed and sub["secret"] not in json.dumps(feed)


def test_a_receiver_failing_twice_gets_the_third_try(client, services, token_for, receiver):
    admin = token_for("admin", "330500")
    sub = subscribe(client, admin, receiver.url)
    cb = token_for("certification-body", "330000")
    assert post(client, cb, issued("WH-2", tenant="330523")).status_code == 201
    receiver.fail_next = 2
    run_processors(services, rounds=1)
    failing = client.get(f"/v1/subscriptions/{sub['id']}", headers=auth(admin)).json
    assert failing["attempts"] == 1 and failing["last_error"] == "HTTP 503"
    run_processors(services, rounds=3)
    assert [json.loads(r["body"])["record"] for r in receiver.received] == ["WH-2"]
    assert client.get(f"/v1/subscriptions/{sub['id']}",
                      headers=auth(admin)).json["attempts"] == 0


def test_a_restart_mid_delivery_loses_nothing(client, services, token_for, receiver,
                                              monkeypatch):
    admin = token_for("admin", "330500")
    subscribe(client, admin, receiver.url)
    cb = token_for("certification-body", "330000")
    for n in range(3):
        assert post(client, cb, issued(f"WH-R{n}", tenant="330523")).status_code == 201
    original = webhooks.WebhookDeliverer._post
    calls = []

    def crash_after_the_second_answer(self, *args):
        result = original(self, *args)
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("the projector process was killed")
        return result

    monkeypatch.setattr(webhooks.WebhookDeliverer, "_post", crash_after_the_second_answer)
    with pytest.raises(RuntimeError):
        run_processors(services, rounds=1)
    monkeypatch.setattr(webhooks.WebhookDeliverer, "_post", original)
    run_processors(services)  # a new process starts from the stored positions
    ids = [json.loads(r["body"])["record"] for r in receiver.received]
    assert sorted(set(ids)) == ["WH-R0", "WH-R1", "WH-R2"]  # none missing
    assert ids.count("WH-R1") == 2 and len(ids) == 4  # the unconfirmed one, again


def test_a_subscription_failing_too_long_is_marked_and_resumed(client, services, token_for,
                                                               receiver, monkeypatch):
    monkeypatch.setenv("REGISTRY_WEBHOOK_GIVE_UP_SECONDS", "0")
    admin = token_for("admin", "330500")
    sub = subscribe(client, admin, receiver.url)
    cb = token_for("certification-body", "330000")
    assert post(client, cb, issued("WH-F", tenant="330523")).status_code == 201
    receiver.fail_next = 1
    run_processors(services, rounds=2)
    status = client.get(f"/v1/subscriptions/{sub['id']}", headers=auth(admin)).json
    assert status["state"] == "failing" and receiver.received == []
    assert client.post(f"/v1/subscriptions/{sub['id']}/resume",
                       headers=auth(admin)).status_code == 200
    run_processors(services)
    assert [json.loads(r["body"])["record"] for r in receiver.received] == ["WH-F"]


def test_private_addresses_plain_http_and_out_of_scope_subscriptions_are_refused(
        client, token_for, monkeypatch):
    admin = token_for("admin", "330500")
    for url in ("http://10.0.0.5/hook", "https://127.0.0.1/hook", "https://169.254.169.254/x",
                "ftp://example.org/x", "https://user:pw@example.org/x"):
        response = client.post("/v1/subscriptions", headers=auth(admin), json={
            "url": url, "types": ["certification.issued"], "tenant": "330500"})
        assert response.status_code == 422 and "url" in response.json["errors"], url
    monkeypatch.setenv("REGISTRY_WEBHOOKS_ALLOW_HTTP_LOOPBACK", "1")
    outside = client.post("/v1/subscriptions", headers=auth(admin), json={
        "url": "http://127.0.0.1:9/hook", "types": ["certification.issued"],
        "tenant": "330100"})
    assert outside.status_code == 403
    auditor = token_for("auditor", "330500")
    assert client.post("/v1/subscriptions", headers=auth(auditor), json={
        "url": "http://127.0.0.1:9/hook", "types": ["certification.issued"],
        "tenant": "330500"}).status_code == 403
    cb = token_for("certification-body", "330500")
    wrong_kind = client.post("/v1/subscriptions", headers=auth(cb), json={
        "url": "http://127.0.0.1:9/hook", "types": ["award.granted"], "tenant": "330500"})
    assert wrong_kind.status_code == 422 and "types" in wrong_kind.json["errors"]


def test_following_the_log_moves_to_the_head_in_bounded_windows(client, services, token_for,
                                                                receiver, monkeypatch):
    """Without subscription events among them, the positions read are still passed: the
    deliverer's tracking reaches the head, each read covers a bounded window, and a later
    subscription is still found. (It used to stay at the last subscription event and read the
    whole rest of the log again on every poll, ten times a second.)"""
    cb = token_for("certification-body", "330000")
    for n in range(30):
        assert post(client, cb, issued(f"WH-W{n}", tenant="330523")).status_code == 201
    deliverer = services.webhook_deliverer()
    deliverer.ensure_tracking()
    reads: list[tuple[int, int | None]] = []
    recorder = services.log.recorder
    read = recorder.select_notifications

    def spy(start, limit, stop=None, topics=(), inclusive_of_start=True):
        reads.append((start, stop))
        return read(start=start, limit=limit, stop=stop, topics=topics,
                    inclusive_of_start=inclusive_of_start)

    monkeypatch.setattr(recorder, "select_notifications", spy)
    head = services.log.max_position()
    for _ in range(100):
        if not deliverer.process_page(limit=8):
            break
    assert deliverer.position() == head
    assert reads and all(stop is not None and stop - after <= 4 * 8 for after, stop in reads)
    reads.clear()
    assert deliverer.process_page(limit=8) == 0 and not reads  # caught up: nothing read

    sub = subscribe(client, token_for("admin", "330500"), receiver.url)
    assert post(client, cb, issued("WH-LATER", tenant="330523")).status_code == 201
    run_processors(services)
    bodies = [json.loads(r["body"]) for r in receiver.received]
    assert [b["record"] for b in bodies] == ["WH-LATER"]
    status = client.get(f"/v1/subscriptions/{sub['id']}",
                        headers=auth(token_for("admin", "330500"))).json
    assert status["delivered"] == 1
