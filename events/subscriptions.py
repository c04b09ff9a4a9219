"""Webhook subscriptions (issue 17): a city's system is told when one of its records changes,
instead of polling the audit feed. Subscriptions and their changes are events, so they appear
in the audit feed (without their secret)."""

from __future__ import annotations

from events.base import RegistryEvent


class SubscriptionCreated(RegistryEvent):
    """A principal asked to receive the events of some types in a subtree at a URL. The
    secret signs every delivery (HMAC-SHA256); it is shown once and never served again."""

    TYPE = "subscription.created"

    subscription_id: str
    tenant: str
    url: str
    types: list
    kinds: list
    principal_id: str
    secret: str
    actor: dict


class SubscriptionResumed(RegistryEvent):
    """Deliveries to a failing subscription start again from where they stopped."""

    TYPE = "subscription.resumed"

    subscription_id: str
    tenant: str
    actor: dict
