"""Webhook reads for admin and the API."""

import json
from typing import Any

from django.db.models import QuerySet

from apps.webhooks.models import WebhookDelivery, WebhookSubscription


def deliveries_recent(*, subscription: WebhookSubscription, limit: int) -> list[WebhookDelivery]:
    return list(subscription.deliveries.order_by("-created_at", "-id")[:limit])


def deliveries_list(*, subscription_id: int | None = None) -> QuerySet[WebhookDelivery]:
    """The delivery log, newest first, with each delivery's attempts in one more query."""
    deliveries = WebhookDelivery.objects.select_related("subscription").prefetch_related("log")
    if subscription_id is not None:
        deliveries = deliveries.filter(subscription_id=subscription_id)
    return deliveries.order_by("-created_at", "-id")


def delivery_payload(delivery: WebhookDelivery) -> Any:
    return json.loads(delivery.body)


def answer_text(delivery: WebhookDelivery) -> str:
    """The last answer in a few words: "HTTP 200", "HTTP 500", or the network error."""
    if delivery.last_status_code:
        return f"HTTP {delivery.last_status_code}"
    if delivery.last_error:
        return delivery.last_error[:120]
    return "—"
