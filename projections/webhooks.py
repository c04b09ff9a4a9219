"""Webhook deliveries (issue 17), a processor of the projector process.

Each subscription has its own position: the last event delivered to it. Events in its scope
(its subtree, its kinds, its types — the audit feed's rules, read from the audit index) are
POSTed one at a time in position order, signed with HMAC-SHA256 of the body
(`X-Registry-Signature: sha256=...`, the GitHub/Stripe convention), and the position moves
only after a 2xx answer: delivery is at least once, never out of order, nothing lost across
restarts (a crash between the answer and the update delivers that event again). A failure is
retried with exponential backoff; a subscription still failing after 24 hours is marked
`failing` (its last error and position visible) until it is resumed. The destination is
checked against private and loopback addresses before every delivery (SSRF), and redirects
are not followed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import logging
import os
import urllib.error
import urllib.request
from typing import Any, Callable

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    DateTime,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    or_,
    select,
    update,
)

from events.destinations import DestinationRefused, check_destination
from events.store import EventLog
from events.subscriptions import SubscriptionCreated, SubscriptionResumed
from projections.audit import audit_events, json_default
from projections.tracking import advance, next_window

log = logging.getLogger("registry.webhooks")
NAME = "webhooks"
TOPICS = [f"{c.__module__}:{c.__qualname__}" for c in (SubscriptionCreated, SubscriptionResumed)]
metadata = MetaData()
subscriptions = Table(
    "webhook_subscriptions", metadata,
    Column("id", String(36), primary_key=True),
    Column("tenant", String(6), nullable=False),
    Column("url", Text, nullable=False),
    Column("types", JSON, nullable=False),
    Column("kinds", JSON, nullable=False),
    Column("principal_id", String(64), nullable=False),
    Column("secret", String(128), nullable=False),
    Column("position", BigInteger, nullable=False),     # the last event delivered
    Column("state", String(16), nullable=False),        # active | failing
    Column("delivered", BigInteger, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("failing_since", DateTime),
    Column("next_attempt_at", DateTime),
    Column("last_error", Text),
    Column("updated_at", DateTime, nullable=False),
)
tracking = Table(
    "webhook_tracking", metadata,
    Column("name", String(32), primary_key=True),
    Column("position", BigInteger, nullable=False),
)


def create_webhook_tables(engine: Engine) -> None:
    metadata.create_all(engine)


def _setting(name: str, default: float) -> float:
    return float(os.environ.get(f"REGISTRY_WEBHOOK_{name}") or default)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


def signature(secret: str, body: bytes) -> str:
    """The X-Registry-Signature of a body: sha256=<hex HMAC-SHA256 with the secret>."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):  # a redirect is an answer, not a new target
        return None


_OPENER = urllib.request.build_opener(_NoRedirects)


class WebhookDeliverer:
    """Keeps the subscriptions table in step with the log and delivers what is due."""

    name = NAME

    def __init__(self, log_: EventLog, engine: Engine, subtree: Callable[[str], frozenset],
                 principal_revoked: Callable[[str], bool]) -> None:
        self.log = log_
        self.engine = engine
        self.subtree = subtree
        self.principal_revoked = principal_revoked
        self._ready = False

    def ensure_tracking(self) -> None:
        if self._ready:
            return
        create_webhook_tables(self.engine)
        with self.engine.begin() as conn:
            if conn.execute(select(tracking.c.position).where(
                    tracking.c.name == NAME)).first() is None:
                conn.execute(tracking.insert().values(name=NAME, position=0))
        self._ready = True

    def position(self) -> int:
        with self.engine.connect() as conn:
            return conn.execute(select(tracking.c.position)
                                .where(tracking.c.name == NAME)).scalar() or 0

    def process_page(self, limit: int = 2000) -> int:
        self.ensure_tracking()
        return self._follow(limit) + self._deliver_due()

    # The subscriptions ---------------------------------------------------------------------

    def _follow(self, limit: int) -> int:
        """Apply the subscription events of the next window of positions; return how many
        positions the tracking advanced (0: caught up). A window without any still moves
        the tracking, so each position is read once, not on every poll."""
        start = self.position()
        window = next_window(self.log, start, min(limit, 500), TOPICS)
        if window is None:
            return 0
        end, found = window
        decode, now = self.log.mapper.to_domain_event, _now()
        with self.engine.begin() as conn:
            advance(conn, tracking, NAME, start, end, "webhooks")
            for notification in found:
                event = decode(notification)
                if isinstance(event, SubscriptionCreated):
                    conn.execute(subscriptions.insert().values(
                        id=event.subscription_id, tenant=event.tenant, url=event.url,
                        types=list(event.types), kinds=list(event.kinds),
                        principal_id=event.principal_id, secret=event.secret,
                        position=notification.id, state="active", delivered=0,
                        attempts=0, updated_at=now))
                else:
                    conn.execute(update(subscriptions).where(
                        subscriptions.c.id == event.subscription_id).values(
                        state="active", attempts=0, failing_since=None, next_attempt_at=None,
                        updated_at=now))
        return end - start

    # Deliveries ------------------------------------------------------------------------------

    def _deliver_due(self) -> int:
        now = _now()
        with self.engine.connect() as conn:
            due = conn.execute(select(subscriptions).where(
                subscriptions.c.state == "active",
                or_(subscriptions.c.next_attempt_at.is_(None),
                    subscriptions.c.next_attempt_at <= now))).all()
        done = 0
        for subscription in due:
            done += self._deliver(subscription)
        return done

    def _pending(self, subscription, limit: int) -> list[tuple[int, dict]]:
        a = audit_events
        codes = sorted(self.subtree(subscription.tenant))
        query = (select(a.c.position, a.c.document)
                 .where(a.c.position > subscription.position, a.c.type.in_(subscription.types),
                        or_(a.c.kind.is_(None), a.c.kind.in_(subscription.kinds)),
                        or_(a.c.tenant.in_(codes), a.c.tenant_to.in_(codes)))
                 .order_by(a.c.position).limit(limit))
        with self.engine.connect() as conn:
            return [(row.position, row.document) for row in conn.execute(query)]

    def _deliver(self, subscription, batch: int = 20) -> int:
        if self.principal_revoked(subscription.principal_id):
            self._failed(subscription, "the subscribing principal has been revoked",
                         give_up=True)
            return 1
        sent = 0
        for position, document in self._pending(subscription, batch):
            body = json.dumps(document, ensure_ascii=False, separators=(",", ":"),
                              default=json_default).encode("utf-8")
            error = self._post(subscription, position, document, body)
            sent += 1
            if error is not None:
                self._failed(subscription, error)
                return sent
            with self.engine.begin() as conn:
                conn.execute(update(subscriptions).where(subscriptions.c.id == subscription.id)
                             .values(position=position, delivered=subscriptions.c.delivered + 1,
                                     attempts=0, failing_since=None, next_attempt_at=None,
                                     last_error=None, updated_at=_now()))
        return sent

    def _post(self, subscription, position: int, document: dict, body: bytes) -> str | None:
        """None when the receiver answered 2xx, else what went wrong."""
        try:
            check_destination(subscription.url)
        except DestinationRefused as exc:
            return f"destination refused: {exc}"
        request = urllib.request.Request(subscription.url, data=body, method="POST", headers={
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": "quality-brand-registry-webhooks",
            "X-Registry-Event-Id": str(document.get("id")),
            "X-Registry-Position": str(position),
            "X-Registry-Subscription": subscription.id,
            "X-Registry-Signature": signature(subscription.secret, body)})
        try:
            with _OPENER.open(request, timeout=_setting("TIMEOUT_SECONDS", 10)) as response:
                if 200 <= response.status < 300:
                    return None
                return f"HTTP {response.status}"
        except urllib.error.HTTPError as exc:
            return f"HTTP {exc.code}"
        except (urllib.error.URLError, OSError, ValueError) as exc:
            return f"{type(exc).__name__}: {getattr(exc, 'reason', exc)}"

    def _failed(self, subscription, error: str, give_up: bool = False) -> None:
        now = _now()
        attempts = subscription.attempts + 1
        since = subscription.failing_since or now
        wait = min(_setting("BACKOFF_SECONDS", 1.0) * 2 ** (attempts - 1), 3600.0)
        failing = give_up or (now - since).total_seconds() >= _setting("GIVE_UP_SECONDS",
                                                                        24 * 3600)
        log.warning("webhook %s: delivery after position %s failed (%s); %s",
                    subscription.id, subscription.position, error,
                    "marked failing" if failing else f"retrying in {wait:.1f} s")
        with self.engine.begin() as conn:
            conn.execute(update(subscriptions).where(subscriptions.c.id == subscription.id)
                         .values(attempts=attempts, failing_since=since, last_error=error,
                                 next_attempt_at=now + dt.timedelta(seconds=wait),
                                 state="failing" if failing else "active", updated_at=now))


def subscription_status(engine: Engine, subscription_id: str) -> dict[str, Any] | None:
    """What GET /v1/subscriptions/{id} shows of the deliveries (None before the projector
    has seen the subscription)."""
    try:
        with engine.connect() as conn:
            row = conn.execute(select(subscriptions).where(
                subscriptions.c.id == subscription_id)).first()
    except Exception:  # noqa: BLE001 - the table appears with the first projector run
        return None
    if row is None:
        return None
    return {"state": row.state, "position": row.position, "delivered": row.delivered,
            "attempts": row.attempts, "failing_since": row.failing_since,
            "next_attempt_at": row.next_attempt_at, "last_error": row.last_error}
