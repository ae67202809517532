"""A failed delivery is retried with exponential backoff, gives up after the last
attempt, and a subscription that keeps failing is disabled with a notice to the admins."""

import datetime as dt

import pytest

from apps.core import clock
from apps.core.events import event_process
from apps.core.models import DomainEvent
from apps.notifications.models import EmailMessage, Notification
from apps.webhooks.models import WebhookDelivery
from apps.webhooks.services import (
    deliveries_send_due,
    delivery_deliver,
    delivery_resend,
    subscription_enable,
)
from tests.deals.test_close_won import close_won
from tests.factories import UserFactory, closable_deal
from tests.webhooks.receiver import verified

pytestmark = pytest.mark.django_db

NOON = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC)


@pytest.fixture
def retry_settings(settings):
    settings.WEBHOOK_RETRY_FIRST_SECONDS = 30
    settings.WEBHOOK_RETRY_CAP_SECONDS = 3600
    settings.WEBHOOK_MAX_ATTEMPTS = 4
    settings.WEBHOOK_DISABLE_AFTER_FAILURES = 100
    settings.OUTBOX_SWEEP_GRACE_SECONDS = 10
    return settings


def delivery_for_a_win(rep) -> WebhookDelivery:
    deal = closable_deal(owner=rep)
    close_won(deal, actor=rep)
    event = DomainEvent.objects.get(name="deal.closed_won", aggregate_id=deal.pk)
    assert event_process(event_id=event.pk)
    return WebhookDelivery.objects.get(event=event)


def test_failures_back_off_exponentially_then_the_delivery_gives_up(
    retry_settings, subscribe, receiver, rep
):
    subscribe(receiver.url)
    receiver.answers.extend([500, 502, 503, 500])
    with clock.frozen(NOON) as frozen:
        delivery = delivery_for_a_win(rep)

        assert delivery_deliver(delivery_id=delivery.pk) == "failed"
        delivery.refresh_from_db()
        assert delivery.next_attempt_at == NOON + dt.timedelta(seconds=30)
        assert (delivery.last_status_code, delivery.last_error) == (
            500,
            "HTTP 500 Internal Server Error",
        )

        # Not due yet: the sweep leaves it, and so does a stray message.
        frozen.advance(dt.timedelta(seconds=29))
        assert deliveries_send_due() == 0
        assert delivery_deliver(delivery_id=delivery.pk) == "skipped: failed"
        assert len(receiver.received()) == 1

        waits = []
        for _ in range(3):
            delivery.refresh_from_db()
            frozen.set(delivery.next_attempt_at)
            before = clock.now()
            deliveries_send_due()
            delivery.refresh_from_db()
            waits.append(delivery.next_attempt_at - before)

    assert waits[:2] == [dt.timedelta(seconds=60), dt.timedelta(seconds=120)]
    assert delivery.status == WebhookDelivery.Status.DEAD
    assert delivery.attempts == 4
    assert [a.status_code for a in delivery.log.order_by("id")] == [500, 502, 503, 500]
    # Every attempt was the same message: same id, same body.
    requests = receiver.received()
    assert len({r.headers["webhook-id"] for r in requests}) == 1
    assert len({r.body for r in requests}) == 1


def test_a_retry_that_succeeds_is_delivered_once(retry_settings, subscribe, receiver, rep):
    subscription, secret = subscribe(receiver.url)
    receiver.answers.append(503)
    with clock.frozen(NOON) as frozen:
        delivery = delivery_for_a_win(rep)
        delivery_deliver(delivery_id=delivery.pk)
        frozen.advance(dt.timedelta(seconds=30))

        assert deliveries_send_due() == 1
        assert deliveries_send_due() == 0  # run twice, as beat would: nothing more

    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.DELIVERED
    assert delivery.last_status_code == 200
    assert verified(secret, receiver.received()[-1])["type"] == "deal.closed_won"
    subscription.refresh_from_db()
    assert subscription.consecutive_failures == 0


def test_the_sweep_sends_a_delivery_whose_message_was_lost(
    retry_settings, subscribe, receiver, rep
):
    subscribe(receiver.url)
    with clock.frozen(NOON) as frozen:
        delivery_for_a_win(rep)  # its message went to the in-memory broker, and nowhere

        assert deliveries_send_due() == 0  # left to its own message for a grace period
        frozen.advance(dt.timedelta(seconds=11))
        assert deliveries_send_due() == 1

    assert len(receiver.received()) == 1


def test_repeated_failure_disables_the_subscription_and_tells_the_admins(
    retry_settings, subscribe, receiver, rep, admin_user
):
    retry_settings.WEBHOOK_DISABLE_AFTER_FAILURES = 3
    csm = UserFactory(username="cora", role="CSM")
    other_admin = UserFactory(username="abe", role="Admin")
    subscription, _ = subscribe(receiver.url)
    receiver.answers.extend([500] * 10)
    with clock.frozen(NOON) as frozen:
        first, second = delivery_for_a_win(rep), delivery_for_a_win(rep)
        delivery_deliver(delivery_id=first.pk)
        delivery_deliver(delivery_id=second.pk)
        frozen.advance(dt.timedelta(minutes=1))
        deliveries_send_due()  # the third failure in a row: disabled
        frozen.advance(dt.timedelta(hours=1))
        deliveries_send_due()  # nothing goes to a disabled subscription

    assert len(receiver.received()) == 3
    subscription.refresh_from_db()
    assert not subscription.is_active
    assert subscription.disabled_at is not None
    assert "3 attempts in a row failed" in subscription.disabled_reason
    told = Notification.objects.filter(reason="webhook_disabled")
    assert {n.recipient for n in told} == {admin_user, other_admin}
    assert not Notification.objects.filter(recipient=csm).exists()
    assert told.first().url == f"/admin/webhooks/webhooksubscription/{subscription.pk}/change/"
    assert EmailMessage.objects.filter(to_email=admin_user.email).exists()

    # Fixed and enabled again: what waited goes out, the count starts again.
    receiver.answers.clear()
    with clock.frozen(NOON + dt.timedelta(hours=2)):
        assert subscription_enable(subscription=subscription)
        assert deliveries_send_due() == 2
    subscription.refresh_from_db()
    assert subscription.is_active and subscription.consecutive_failures == 0
    assert subscription.disabled_reason == ""  # the admins' notice keeps why it went off
    assert told.count() == 2
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {"delivered"}


def test_resend_sends_the_same_message_again_and_keeps_the_log(
    retry_settings, subscribe, receiver, rep
):
    retry_settings.WEBHOOK_MAX_ATTEMPTS = 1
    subscribe(receiver.url)
    receiver.answers.append(500)
    with clock.frozen(NOON):
        delivery = delivery_for_a_win(rep)
        assert delivery_deliver(delivery_id=delivery.pk) == "dead"

        assert delivery_resend(delivery=delivery)
        assert delivery_deliver(delivery_id=delivery.pk) == "delivered"

    delivery.refresh_from_db()
    assert [a.status_code for a in delivery.log.order_by("id")] == [500, 200]
    first, second = receiver.received()
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == delivery.message_id
