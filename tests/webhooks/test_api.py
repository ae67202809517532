"""Subscriptions and the delivery log over the REST API."""

import pytest
from rest_framework.test import APIClient

from apps.webhooks.models import WebhookDelivery, WebhookSubscription
from apps.webhooks.services import delivery_deliver
from tests.webhooks.receiver import verified

pytestmark = pytest.mark.django_db

PUBLIC = "https://93.184.215.14/hooks/afterwin"


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_creating_a_subscription_answers_with_its_secret_once(admin_user):
    api = client_for(admin_user)

    response = api.post(
        "/api/webhooks/subscriptions/",
        {"name": "Warehouse", "url": PUBLIC, "event_types": ["task.completed", "deal.closed_won"]},
        format="json",
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["secret"].startswith("whsec_")
    assert body["event_types"] == ["deal.closed_won", "task.completed"]  # catalogue order
    assert body["is_active"] is True
    subscription = WebhookSubscription.objects.get(pk=body["id"])
    assert subscription.secret == body["secret"]
    assert "secret" not in api.get(f"/api/webhooks/subscriptions/{subscription.pk}/").json()
    assert "secret" not in api.get("/api/webhooks/subscriptions/").json()["results"][0]


@pytest.mark.parametrize(
    ("data", "field", "words"),
    [
        ({"url": "ftp://93.184.215.14/x"}, "url", "Only http:// and https://"),
        ({"url": "http://127.0.0.1:8000/x"}, "url", "non-public address"),
        ({"url": "http://169.254.169.254/"}, "url", "non-public address"),
        ({"url": ""}, "url", "may not be blank"),
        ({"event_types": ["deal.won"]}, "event_types", "not a valid choice"),
        ({"event_types": []}, "event_types", "may not be empty"),
        ({"event_types": "deal.closed_won"}, "event_types", "list"),
        ({"name": ""}, "name", "may not be blank"),
    ],
)
def test_a_bad_subscription_is_refused_naming_the_field(admin_user, settings, data, field, words):
    settings.WEBHOOK_ALLOW_PRIVATE_DESTINATIONS = False
    payload = {"name": "Warehouse", "url": PUBLIC, "event_types": ["deal.closed_won"], **data}

    response = client_for(admin_user).post("/api/webhooks/subscriptions/", payload, format="json")

    assert response.status_code == 400
    assert words in str(response.json()[field]), response.json()
    assert not WebhookSubscription.objects.exists()


def test_an_update_is_checked_like_a_new_subscription(admin_user, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_DESTINATIONS = False
    api = client_for(admin_user)
    created = api.post(
        "/api/webhooks/subscriptions/",
        {"name": "Warehouse", "url": PUBLIC, "event_types": ["deal.closed_won"]},
        format="json",
    ).json()

    refused = api.patch(
        f"/api/webhooks/subscriptions/{created['id']}/",
        {"url": "http://10.0.0.5/hook"},
        format="json",
    )
    changed = api.patch(
        f"/api/webhooks/subscriptions/{created['id']}/",
        {"event_types": ["survey.answered"]},
        format="json",
    )

    assert refused.status_code == 400 and "url" in refused.json()
    assert changed.status_code == 200
    subscription = WebhookSubscription.objects.get()
    assert (subscription.url, subscription.event_types) == (PUBLIC, ["survey.answered"])
    assert subscription.secret == created["secret"]


def test_only_people_allowed_to_manage_webhooks_may(csm, rep):
    for user in (csm, rep):
        api = client_for(user)
        assert api.get("/api/webhooks/subscriptions/").status_code == 403
        assert (
            api.post(
                "/api/webhooks/subscriptions/",
                {"name": "x", "url": PUBLIC, "event_types": ["deal.closed_won"]},
                format="json",
            ).status_code
            == 403
        )
        assert api.get("/api/webhooks/deliveries/").status_code == 403


def test_event_types_lists_what_a_subscription_may_choose(admin_user):
    names = [e["name"] for e in client_for(admin_user).get("/api/webhooks/event-types/").json()]
    assert "deal.closed_won" in names and "enrollment.started" in names


def test_test_event_then_the_log_then_resend(
    admin_user, subscribe, receiver, django_assert_max_num_queries
):
    subscription, secret = subscribe(receiver.url)
    receiver.answers.append(500)
    api = client_for(admin_user)

    sent = api.post(f"/api/webhooks/subscriptions/{subscription.pk}/test/")
    assert sent.status_code == 202
    delivery_deliver(delivery_id=sent.json()["id"])
    resent = api.post(f"/api/webhooks/deliveries/{sent.json()['id']}/resend/")
    assert resent.status_code == 202 and resent.json()["status"] == "pending"
    delivery_deliver(delivery_id=sent.json()["id"])

    with django_assert_max_num_queries(6):
        log = api.get(f"/api/webhooks/deliveries/?subscription={subscription.pk}").json()
    [row] = log["results"]
    assert row["status"] == "delivered"
    assert sorted(a["status_code"] for a in row["attempt_log"]) == [200, 500]
    assert verified(secret, receiver.received()[-1])["type"] == "webhook.test"
    assert WebhookDelivery.objects.count() == 1


def test_a_subscription_is_disabled_and_enabled_not_deleted(admin_user):
    api = client_for(admin_user)
    created = api.post(
        "/api/webhooks/subscriptions/",
        {"name": "Warehouse", "url": PUBLIC, "event_types": ["deal.closed_won"]},
        format="json",
    ).json()
    url = f"/api/webhooks/subscriptions/{created['id']}/"

    assert api.post(url + "disable/").json()["is_active"] is False
    assert api.post(url + "enable/").json()["is_active"] is True
    assert api.delete(url).status_code == 405
    new = api.post(url + "new-secret/").json()["secret"]
    assert new.startswith("whsec_") and new != created["secret"]
