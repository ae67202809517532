"""Webhook subscriptions and the delivery log in admin."""

import pytest

from apps.webhooks.models import WebhookDelivery, WebhookSubscription
from apps.webhooks.services import delivery_deliver

pytestmark = pytest.mark.django_db

ADD = "/admin/webhooks/webhooksubscription/add/"


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    return client


def test_adding_a_subscription_shows_its_secret_once(admin_client, private_destinations, receiver):
    response = admin_client.post(
        ADD,
        {"name": "Warehouse", "url": receiver.url, "event_types": ["deal.closed_won"]},
    )

    assert response.status_code == 200
    subscription = WebhookSubscription.objects.get()
    page = response.content.decode()
    assert subscription.secret.startswith("whsec_") and subscription.secret in page
    assert "shown now and never again" in page
    assert "no-store" in response["Cache-Control"]
    change = admin_client.get(f"/admin/webhooks/webhooksubscription/{subscription.pk}/change/")
    assert change.status_code == 200
    assert subscription.secret not in change.content.decode()
    assert "Send test event" in change.content.decode()


def test_a_private_address_is_refused_next_to_the_field(admin_client, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_DESTINATIONS = False
    response = admin_client.post(
        ADD,
        {"name": "Warehouse", "url": "http://192.168.0.10/hook", "event_types": ["task.completed"]},
    )

    assert response.status_code == 200
    assert "non-public address" in str(response.context["adminform"].form.errors["url"])
    assert not WebhookSubscription.objects.exists()


def test_send_test_event_then_resend_from_the_log(admin_client, subscribe, receiver):
    subscription, _ = subscribe(receiver.url)
    url = f"/admin/webhooks/webhooksubscription/{subscription.pk}/send-test/"
    receiver.answers.append(503)

    assert admin_client.get(url).status_code == 200  # a confirmation, nothing sent
    assert not WebhookDelivery.objects.exists()
    response = admin_client.post(url)

    assert response.status_code == 302
    delivery = WebhookDelivery.objects.get()
    delivery_deliver(delivery_id=delivery.pk)
    log = admin_client.get("/admin/webhooks/webhookdelivery/?status__exact=failed")
    assert "HTTP 503" in log.content.decode()

    admin_client.post(
        "/admin/webhooks/webhookdelivery/",
        {"action": "resend", "_selected_action": [delivery.pk]},
    )
    delivery_deliver(delivery_id=delivery.pk)
    detail = admin_client.get(f"/admin/webhooks/webhookdelivery/{delivery.pk}/change/")
    text = detail.content.decode()
    assert detail.status_code == 200 and "503" in text and "200" in text
    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.DELIVERED


def test_a_new_secret_is_shown_once_and_replaces_the_old(admin_client, subscribe, receiver):
    subscription, old = subscribe(receiver.url)

    response = admin_client.post(
        f"/admin/webhooks/webhooksubscription/{subscription.pk}/new-secret/"
    )

    subscription.refresh_from_db()
    assert subscription.secret != old
    assert subscription.secret in response.content.decode()


def test_people_without_webhook_permissions_cannot_open_them(
    client, cs_manager, subscribe, receiver
):
    subscription, _ = subscribe(receiver.url)
    client.force_login(cs_manager)
    for url in (
        "/admin/webhooks/webhooksubscription/",
        f"/admin/webhooks/webhooksubscription/{subscription.pk}/send-test/",
        "/admin/webhooks/webhookdelivery/",
    ):
        assert client.get(url).status_code in (302, 403), url
    assert client.post(
        f"/admin/webhooks/webhooksubscription/{subscription.pk}/send-test/"
    ).status_code in (302, 403)
    assert not WebhookDelivery.objects.exists()
