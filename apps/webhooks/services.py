"""Outbound webhook writes: subscriptions, the delivery outbox, sending and retrying.

Deliveries are rows written in the transaction that processes the domain event (one per
subscription that asked for the event's type); a Celery message per delivery is sent
after that commits, and the periodic sweep (``deliveries_send_due``) takes what is due for
a retry or whose message was lost. The POST itself happens outside any transaction: a
delivery is claimed with a lease, sent, and the outcome written afterwards.
"""

import datetime as dt
import json
import logging
import time
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import F, Q
from django.urls import reverse

from apps.core import clock, outbox
from apps.core.errors import ValidationFailed
from apps.core.models import DomainEvent
from apps.webhooks import catalogue, destinations, listeners, signing
from apps.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookSubscription

logger = logging.getLogger(__name__)

Status = WebhookDelivery.Status
DELIVERY_LEASE = dt.timedelta(minutes=2)


def retry_backoff() -> outbox.Backoff:
    return outbox.Backoff(
        first=dt.timedelta(seconds=settings.WEBHOOK_RETRY_FIRST_SECONDS),
        cap=dt.timedelta(seconds=settings.WEBHOOK_RETRY_CAP_SECONDS),
    )


# Subscriptions --------------------------------------------------------------------------


def _subscription_problems(*, name: str, url: str, event_types: Any) -> dict[str, list[str]]:
    problems: dict[str, list[str]] = {}
    if not name.strip():
        problems["name"] = ["Give the subscription a name."]
    elif len(name) > WebhookSubscription._meta.get_field("name").max_length:
        problems["name"] = ["At most 200 characters."]
    if not url.strip():
        problems["url"] = ["Give the address that receives the events."]
    elif len(url) > WebhookSubscription._meta.get_field("url").max_length:
        problems["url"] = ["At most 2000 characters."]
    else:
        try:
            destinations.destination_resolve(url)
        except destinations.DestinationRefused as refused:
            problems["url"] = [str(refused)]
    if not isinstance(event_types, list | tuple) or not event_types:
        problems["event_types"] = ["Choose at least one event type."]
    else:
        unknown = [str(name) for name in event_types if name not in catalogue.NAMES]
        if unknown:
            problems["event_types"] = [
                f"Not an event type: {', '.join(unknown)}. Choose from "
                f"{', '.join(sorted(catalogue.NAMES))}."
            ]
    return problems


def _ordered(event_types: list[str]) -> list[str]:
    return [event.name for event in catalogue.EVENT_TYPES if event.name in set(event_types)]


@transaction.atomic
def subscription_create(
    *, name: str, url: str, event_types: list[str], actor: Any = None
) -> tuple[WebhookSubscription, str]:
    """A new subscription with a generated secret. Returns it and the secret, which is
    shown to the person once and never again."""
    problems = _subscription_problems(name=name, url=url, event_types=event_types)
    if problems:
        raise ValidationFailed("The webhook subscription was not saved.", problems)
    secret = signing.secret_generate()
    subscription = WebhookSubscription.objects.create(
        name=name.strip(),
        url=url.strip(),
        event_types=_ordered(event_types),
        secret=secret,
        created_by=actor if getattr(actor, "pk", None) else None,
    )
    listeners.forget()
    logger.info("webhook subscription %s created by %s", subscription.pk, actor)
    return subscription, secret


@transaction.atomic
def subscription_update(
    *,
    subscription: WebhookSubscription,
    actor: Any = None,
    name: str | None = None,
    url: str | None = None,
    event_types: list[str] | None = None,
) -> WebhookSubscription:
    """Change the name, address or event types; the secret stays."""
    name = subscription.name if name is None else name
    url = subscription.url if url is None else url
    event_types = subscription.event_types if event_types is None else event_types
    problems = _subscription_problems(name=name, url=url, event_types=event_types)
    if problems:
        raise ValidationFailed("The webhook subscription was not saved.", problems)
    subscription.name, subscription.url = name.strip(), url.strip()
    subscription.event_types = _ordered(event_types)
    subscription.updated_at = clock.now()
    subscription.save(update_fields=["name", "url", "event_types", "updated_at"])
    listeners.forget()
    logger.info("webhook subscription %s changed by %s", subscription.pk, actor)
    return subscription


@transaction.atomic
def subscription_secret_rotate(*, subscription: WebhookSubscription, actor: Any = None) -> str:
    """A new secret for the subscription, returned to be shown once; the old one stops
    working at once (deliveries still pending are signed with the new one)."""
    secret = signing.secret_generate()
    WebhookSubscription.objects.filter(pk=subscription.pk).update(
        secret=secret, updated_at=clock.now()
    )
    subscription.secret = secret
    logger.info("webhook subscription %s: new secret by %s", subscription.pk, actor)
    return secret


@transaction.atomic
def subscription_enable(*, subscription: WebhookSubscription, actor: Any = None) -> bool:
    """Start delivering again (deliveries left pending while it was off go out too).
    Returns False if it was enabled already."""
    now = clock.now()
    updated = WebhookSubscription.objects.filter(pk=subscription.pk, is_active=False).update(
        is_active=True,
        consecutive_failures=0,
        disabled_at=None,
        # The reason was the admins' notice when it was disabled; on, it would read as current.
        disabled_reason="",
        updated_at=now,
    )
    if updated:
        listeners.forget()
        subscription.refresh_from_db()
        # What waited while it was off is due now.
        due = list(
            subscription.deliveries.filter(status__in=[Status.PENDING, Status.FAILED]).values_list(
                "pk", flat=True
            )
        )
        subscription.deliveries.filter(pk__in=due).update(next_attempt_at=now)
        for delivery_id in due:
            _send_after_commit(delivery_id)
        logger.info("webhook subscription %s enabled by %s", subscription.pk, actor)
    return bool(updated)


@transaction.atomic
def subscription_disable(
    *, subscription: WebhookSubscription, reason: str, actor: Any = None
) -> bool:
    """Stop delivering; deliveries wait until it is enabled again. Returns False if it
    was disabled already."""
    now = clock.now()
    updated = WebhookSubscription.objects.filter(pk=subscription.pk, is_active=True).update(
        is_active=False, disabled_at=now, disabled_reason=reason[:2000], updated_at=now
    )
    if updated:
        listeners.forget()
        subscription.refresh_from_db()
        logger.info("webhook subscription %s disabled: %s", subscription.pk, reason)
    return bool(updated)


# The outbox -----------------------------------------------------------------------------


def _body(*, event_type: str, occurred_at: dt.datetime, data: dict[str, Any]) -> str:
    # The Standard Webhooks envelope: type, timestamp, data.
    envelope = {
        "type": event_type,
        "timestamp": occurred_at.astimezone(dt.UTC).isoformat().replace("+00:00", "Z"),
        "data": data,
    }
    return json.dumps(envelope, cls=DjangoJSONEncoder, separators=(",", ":"))


def _event_data(event: DomainEvent) -> dict[str, Any]:
    return {
        "event_id": event.pk,
        "aggregate": {"type": event.aggregate_type, "id": event.aggregate_id},
        **(event.payload or {}),
    }


def _send_after_commit(delivery_id: int) -> None:
    from apps.webhooks.tasks import deliver

    outbox.send_after_commit(deliver, delivery_id, what=f"webhook delivery {delivery_id}")


def deliveries_create_for_event(event: DomainEvent) -> int:
    """``deliveries_create_for_events`` for one event."""
    return deliveries_create_for_events([event])


def deliveries_create_for_events(events: list[DomainEvent]) -> int:
    """One delivery per event and active subscription that asked for its type, with one
    read of the subscriptions and one INSERT; each is sent after commit. Runs in the
    transaction that marks the events processed, so an event processed twice (its
    handlers retried) makes its deliveries once: the unique key on subscription and
    event. Returns how many it made."""
    subscriptions = list(
        WebhookSubscription.objects.filter(is_active=True).only("pk", "event_types")
    )
    if not subscriptions:
        return 0
    now = clock.now()
    rows = [
        WebhookDelivery(
            subscription_id=subscription.pk,
            event_id=event.pk,
            event_type=event.name,
            message_id=signing.message_id_new(),
            body=_body(
                event_type=event.name, occurred_at=event.occurred_at, data=_event_data(event)
            ),
            next_attempt_at=now,
            created_at=now,
        )
        for event in events
        for subscription in subscriptions
        if event.name in subscription.event_types
    ]
    if not rows:
        return 0
    WebhookDelivery.objects.bulk_create(rows, ignore_conflicts=True)
    # ignore_conflicts leaves the primary keys unset: read back the ones just made.
    made = list(
        WebhookDelivery.objects.filter(message_id__in=[row.message_id for row in rows]).values_list(
            "pk", flat=True
        )
    )
    for delivery_id in made:
        _send_after_commit(delivery_id)
    return len(made)


@transaction.atomic
def delivery_send_test(*, subscription: WebhookSubscription, actor: Any = None) -> WebhookDelivery:
    """A ``webhook.test`` message to the subscription, sent after commit, whether or not
    it is enabled (so a fixed receiver can be tried before enabling it again)."""
    now = clock.now()
    data = {
        "subscription_id": subscription.pk,
        "message": "A test event from Afterwin: the signature checks out if you can read this.",
        "sent_by": getattr(actor, "username", None),
    }
    delivery = WebhookDelivery.objects.create(
        subscription=subscription,
        event=None,
        event_type=catalogue.TEST_EVENT,
        message_id=signing.message_id_new(),
        body=_body(event_type=catalogue.TEST_EVENT, occurred_at=now, data=data),
        next_attempt_at=now,
        created_at=now,
    )
    _send_after_commit(delivery.pk)
    return delivery


@transaction.atomic
def delivery_resend(*, delivery: WebhookDelivery, actor: Any = None) -> bool:
    """Send a delivery again now, with a fresh set of attempts: the same message id and
    body, so a receiver that already has it can tell. Its earlier attempts stay in the
    log. Returns False while it is being sent."""
    now = clock.now()
    updated = (
        WebhookDelivery.objects.filter(pk=delivery.pk)
        .exclude(status=Status.SENDING, lease_until__gte=now)
        .update(status=Status.PENDING, attempts=0, next_attempt_at=now, lease_until=None)
    )
    if updated:
        _send_after_commit(delivery.pk)
        logger.info("webhook delivery %s resent by %s", delivery.pk, actor)
    return bool(updated)


# Sending --------------------------------------------------------------------------------


def _sendable(now: dt.datetime) -> Q:
    """Deliveries a worker may claim: due and not delivered, or stuck in ``sending``
    because the worker holding the lease died; for an enabled subscription (test events
    go either way)."""
    due = Q(status__in=[Status.PENDING, Status.FAILED], next_attempt_at__lte=now) | Q(
        status=Status.SENDING, lease_until__lt=now
    )
    allowed = Q(subscription__is_active=True) | Q(event_type=catalogue.TEST_EVENT)
    return due & allowed


def _lease(now: dt.datetime) -> dict[str, Any]:
    return {
        "status": Status.SENDING,
        "lease_until": now + DELIVERY_LEASE,
        "attempts": F("attempts") + 1,
    }


def delivery_deliver(*, delivery_id: int) -> str:
    """Send one delivery if it is due, at most once per claim. Returns what happened.

    Must run outside a transaction: the claim commits before the POST and the outcome is
    written after it, so no lock is held while the network is."""
    now = clock.now()
    if not outbox.claim_row(
        WebhookDelivery.objects.filter(_sendable(now)), pk=delivery_id, lease=_lease(now)
    ):
        status = WebhookDelivery.objects.filter(pk=delivery_id).values_list("status", flat=True)
        return f"skipped: {status.first() or 'missing'}"
    delivery = WebhookDelivery.objects.select_related("subscription").get(pk=delivery_id)
    return _send_claimed(delivery)


def _send_claimed(delivery: WebhookDelivery) -> str:
    subscription = delivery.subscription
    if delivery.event_type != catalogue.TEST_EVENT and not (
        WebhookSubscription.objects.filter(pk=subscription.pk, is_active=True).exists()
    ):
        # Disabled since the claim (an earlier delivery of the same batch failed once too
        # often): give it back untried; it goes out when the subscription is enabled.
        _release([delivery])
        return "skipped: subscription disabled"
    timestamp = int(time.time())
    answer = destinations.post(
        url=subscription.url,
        body=delivery.body,
        headers=signing.headers(
            secret=subscription.secret,
            message_id=delivery.message_id,
            timestamp=timestamp,
            body=delivery.body,
        ),
    )
    return _record(delivery, answer)


@transaction.atomic
def _record(delivery: WebhookDelivery, answer: destinations.Answer) -> str:
    """Write the attempt and its outcome: delivered, a retry with backoff, or dead after
    the last attempt; count the subscription's failures and disable it after too many."""
    now = clock.now()
    WebhookAttempt.objects.create(
        delivery=delivery,
        attempted_at=now,
        status_code=answer.status_code,
        error=answer.error,
        response_excerpt=answer.excerpt,
        duration_ms=answer.duration_ms,
    )
    fields: dict[str, Any] = {
        "lease_until": None,
        "last_status_code": answer.status_code,
        "last_error": answer.error,
    }
    subscriptions = WebhookSubscription.objects.filter(pk=delivery.subscription_id)
    if answer.succeeded:
        fields.update(status=Status.DELIVERED, delivered_at=now)
        subscriptions.update(consecutive_failures=0, last_delivered_at=now)
    elif delivery.attempts >= settings.WEBHOOK_MAX_ATTEMPTS:
        fields.update(status=Status.DEAD, next_attempt_at=now)
    else:
        fields.update(
            status=Status.FAILED, next_attempt_at=now + retry_backoff().after(delivery.attempts)
        )
    WebhookDelivery.objects.filter(pk=delivery.pk, status=Status.SENDING).update(**fields)
    if not answer.succeeded:
        logger.warning(
            "webhook delivery %s attempt %s failed: %s",
            delivery.pk,
            delivery.attempts,
            answer.error,
        )
        if delivery.event_type != catalogue.TEST_EVENT:
            subscriptions.update(consecutive_failures=F("consecutive_failures") + 1)
            _disable_if_failing(delivery.subscription_id, answer)
    return fields["status"]


def _disable_if_failing(subscription_id: int, answer: destinations.Answer) -> None:
    subscription = WebhookSubscription.objects.select_for_update().get(pk=subscription_id)
    limit = settings.WEBHOOK_DISABLE_AFTER_FAILURES
    if not subscription.is_active or subscription.consecutive_failures < limit:
        return
    reason = (
        f"{subscription.consecutive_failures} attempts in a row failed; the last: "
        f"{answer.error or 'no answer'}."
    )
    if subscription_disable(subscription=subscription, reason=reason):
        _tell_admins(subscription)


def _tell_admins(subscription: WebhookSubscription) -> None:
    """A notice (in the app and by email) to every active admin: deliveries stopped."""
    from apps.notifications.services import Notice, notify_many

    admins = (
        get_user_model()
        .objects.filter(is_active=True)
        .filter(Q(is_superuser=True) | Q(groups__name="Admin"))
        .distinct()
        .select_related("profile")
    )
    stamp = subscription.disabled_at.isoformat() if subscription.disabled_at else ""
    url = reverse("admin:webhooks_webhooksubscription_change", args=[subscription.pk])
    notify_many(
        notices=[
            Notice(
                recipient=admin,
                reason="webhook_disabled",
                title=f"Webhook disabled: {subscription.name}",
                body=(
                    f"Afterwin stopped sending events to {subscription.url}. "
                    f"{subscription.disabled_reason} Fix the receiver, send a test event "
                    "and enable the subscription again in admin."
                ),
                url=url,
                email_template="webhooks/email/webhook_disabled",
                dedupe_key=f"webhook-disabled:{subscription.pk}:{stamp}:{admin.pk}",
            )
            for admin in admins
        ]
    )


def _claim_due(*, now: dt.datetime, limit: int) -> list[WebhookDelivery]:
    """Claim up to ``limit`` due deliveries. SKIP LOCKED: two sweeps claim different
    rows. A fresh delivery is left to its own message for the sweep's grace period."""
    fresh = now - dt.timedelta(seconds=settings.OUTBOX_SWEEP_GRACE_SECONDS)
    with transaction.atomic():
        ids = list(
            WebhookDelivery.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(_sendable(now))
            .exclude(status=Status.PENDING, attempts=0, created_at__gt=fresh)
            .order_by("next_attempt_at", "id")
            .values_list("id", flat=True)[:limit]
        )
        if not ids:
            return []
        WebhookDelivery.objects.filter(pk__in=ids).update(**_lease(now))
    return list(
        WebhookDelivery.objects.select_related("subscription").filter(pk__in=ids).order_by("id")
    )


def _release(deliveries: list[WebhookDelivery]) -> None:
    WebhookDelivery.objects.filter(
        pk__in=[delivery.pk for delivery in deliveries], status=Status.SENDING
    ).update(status=Status.PENDING, lease_until=None, attempts=F("attempts") - 1)


def deliveries_send_due(*, limit: int = 50, seconds: float = 30.0) -> int:
    """Periodic: send deliveries whose retry is due, whose message was lost or whose
    worker died mid-send, batch after batch until none is due or ``seconds`` have
    passed. Returns how many were delivered. Runs outside a transaction."""
    delivered, deadline = 0, time.monotonic() + seconds
    while time.monotonic() < deadline:
        claimed_at = time.monotonic()
        claimed = _claim_due(now=clock.now(), limit=limit)
        if not claimed:
            break
        for position, delivery in enumerate(claimed):
            late = time.monotonic() - claimed_at > DELIVERY_LEASE.total_seconds() / 2
            if late or time.monotonic() > deadline:
                # Slow receivers: give the rest back before their lease runs out.
                _release(claimed[position:])
                return delivered
            delivered += _send_claimed(delivery) == Status.DELIVERED
    return delivered
