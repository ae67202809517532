"""End to end with real processes: PostgreSQL, a private Redis, a Celery worker and a
local HTTP receiver. A committed close reaches the receiver signed; a rolled-back one
sends nothing."""

import pytest
from django.db import transaction

from apps.webhooks.models import WebhookDelivery
from tests.deals.test_close_won import close_won
from tests.factories import closable_deal
from tests.services import app_broker, celery_worker, redis_server, require_postgres, wait_until
from tests.webhooks.receiver import verified

pytestmark = pytest.mark.django_db(transaction=True)

WORKER_ENV = {"WEBHOOK_ALLOW_PRIVATE_DESTINATIONS": "1"}


def wait_ready(worker) -> None:
    assert wait_until(lambda: "ready." in worker.output(), timeout=30), worker.output()


def test_a_closed_won_deal_reaches_the_subscriber_signed(subscribe, receiver, rep):
    require_postgres()
    subscription, secret = subscribe(receiver.url)
    deal = closable_deal(owner=rep)

    with (
        redis_server() as redis,
        app_broker(redis.url),
        celery_worker(redis.url, extra_env=WORKER_ENV) as worker,
    ):
        wait_ready(worker)
        close_won(deal, actor=rep)

        assert wait_until(lambda: receiver.received(), timeout=20), worker.output()
        assert wait_until(
            lambda: WebhookDelivery.objects.filter(status="delivered").exists(), timeout=10
        ), worker.output()

    [request] = receiver.received()
    payload = verified(secret, request)
    assert payload["type"] == "deal.closed_won"
    assert payload["data"]["deal_id"] == deal.pk
    delivery = WebhookDelivery.objects.get(subscription=subscription)
    assert [a.status_code for a in delivery.log.all()] == [200]


def test_a_rolled_back_close_sends_nothing(subscribe, receiver, rep):
    require_postgres()
    subscribe(receiver.url)
    undone, kept = closable_deal(owner=rep), closable_deal(owner=rep)

    with (
        redis_server() as redis,
        app_broker(redis.url),
        celery_worker(redis.url, extra_env=WORKER_ENV) as worker,
    ):
        wait_ready(worker)
        with pytest.raises(RuntimeError), transaction.atomic():
            close_won(undone, actor=rep)
            raise RuntimeError("something later in the same transaction failed")
        # A close that commits afterwards: once it has arrived, the first had its chance.
        close_won(kept, actor=rep)

        assert wait_until(lambda: receiver.received(), timeout=20), worker.output()
        assert wait_until(
            lambda: not WebhookDelivery.objects.exclude(status="delivered").exists(), timeout=10
        )

    assert [r.payload["data"]["deal_id"] for r in receiver.received()] == [kept.pk]
    assert WebhookDelivery.objects.count() == 1
    undone.refresh_from_db()
    assert undone.stage != "closed_won"
