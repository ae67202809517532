"""Deliveries are signed the Standard Webhooks way, checked by an implementation that is
not ours: the Standard Webhooks project's Python library."""

import base64
import datetime as dt

import pytest
from standardwebhooks import Webhook, WebhookVerificationError

from apps.core.events import event_process
from apps.core.models import DomainEvent
from apps.webhooks import signing
from apps.webhooks.models import WebhookDelivery
from apps.webhooks.services import delivery_deliver
from tests.deals.test_close_won import close_won
from tests.factories import closable_deal
from tests.webhooks.receiver import verified

pytestmark = pytest.mark.django_db


def test_signature_matches_the_specifications_example():
    # The example of the Standard Webhooks specification and its reference libraries.
    assert (
        signing.signature(
            secret="whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            message_id="msg_p5jXN8AQM9LWM0D4loKWxJek",
            timestamp=1614265330,
            body='{"test": 2432232314}',
        )
        == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    )


def test_generated_secret_is_whsec_and_32_random_bytes():
    first, second = signing.secret_generate(), signing.secret_generate()
    assert first.startswith("whsec_") and first != second
    assert len(base64.b64decode(first.removeprefix("whsec_"))) == 32


def test_library_signs_what_we_sign_for_a_fresh_secret():
    secret = signing.secret_generate()
    body = '{"type":"deal.closed_won","data":{"deal_id":1}}'
    at = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)
    ours = signing.signature(
        secret=secret, message_id="msg_1", timestamp=int(at.timestamp()), body=body
    )
    assert ours == Webhook(secret).sign("msg_1", at, body)


def test_closed_won_delivery_verifies_and_a_tampered_one_does_not(subscribe, receiver, rep):
    subscription, secret = subscribe(receiver.url)
    deal = closable_deal(owner=rep)
    close_won(deal, actor=rep)
    event = DomainEvent.objects.get(name="deal.closed_won", aggregate_id=deal.pk)
    assert event_process(event_id=event.pk)
    delivery = WebhookDelivery.objects.get(subscription=subscription)

    assert delivery_deliver(delivery_id=delivery.pk) == "delivered"

    [request] = receiver.received()
    assert request.path == "/hooks/afterwin"
    assert request.headers["content-type"] == "application/json"
    assert request.headers["webhook-id"] == delivery.message_id
    payload = verified(secret, request)
    assert payload["type"] == "deal.closed_won"
    assert payload["data"]["deal_id"] == deal.pk
    assert payload["data"]["account_id"] == deal.account_id
    assert payload["data"]["event_id"] == event.pk
    assert payload["timestamp"].endswith("Z")

    tampered = request.body.replace(str(deal.pk).encode(), str(deal.pk + 1).encode(), 1)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(tampered, request.headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(signing.secret_generate()).verify(request.body, request.headers)
