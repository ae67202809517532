"""One-click unsubscribe (RFC 8058) on every customer email: a GET only asks, a POST
unsubscribes and records when and how; unsubscribed contacts get no survey."""

import re

import pytest
from django.core import mail
from django.urls import reverse

from apps.customers.models import ConsentChange, Contact
from apps.notifications.models import EmailMessage
from apps.notifications.services import OutgoingEmail, email_deliver, emails_queue_many
from apps.notifications.unsubscribe import contact_id_from_token, unsubscribe_token
from tests.factories import ContactFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def grace() -> Contact:
    return ContactFactory(name="Grace Hopper", email="grace@globex.test")


def queue_for(contact) -> EmailMessage:
    [email] = emails_queue_many(
        emails=[
            OutgoingEmail(
                to_email=contact.email,
                to_name=contact.name,
                subject="Welcome aboard",
                body_text="Hello.",
                body_html="<html><body><p>Hello.</p></body></html>",
                idempotency_key=f"welcome:{contact.pk}",
                contact=contact,
            )
        ]
    )
    return email


def unsubscribe_tokens(text: str) -> set[str]:
    return set(re.findall(r"/u/([^/\s\"'>]+)/", text))


def test_customer_email_carries_the_link_and_the_one_click_headers(grace, mailoutbox):
    email = queue_for(grace)

    # The tokens carry the moment they were made, so compare whom they name.
    for text in (email.body_text, email.body_html):
        [token] = unsubscribe_tokens(text)
        assert contact_id_from_token(token) == grace.pk
    assert email_deliver(email_id=email.pk) == "sent"
    headers = mailoutbox[0].extra_headers
    assert headers["List-Unsubscribe"].startswith("<http://")
    [token] = unsubscribe_tokens(headers["List-Unsubscribe"])
    assert contact_id_from_token(token) == grace.pk
    assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_opening_the_link_only_asks(client, grace):
    page = client.get(reverse("unsubscribe", args=[unsubscribe_token(grace.pk)]))

    assert page.status_code == 200
    assert "Unsubscribe grace@globex.test?" in page.content.decode()
    grace.refresh_from_db()
    assert not grace.unsubscribed and not ConsentChange.objects.exists()


def test_the_button_unsubscribes_once_and_records_how(client, grace):
    url = reverse("unsubscribe", args=[unsubscribe_token(grace.pk)])

    assert "You are unsubscribed" in client.post(url).content.decode()
    client.post(url)  # twice: recorded once

    grace.refresh_from_db()
    assert grace.unsubscribed
    [change] = ConsentChange.objects.all()
    assert (change.unsubscribed, change.how) == (True, ConsentChange.How.EMAIL_LINK)


def test_the_mail_clients_one_click_post_needs_no_csrf_token(grace):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    url = reverse("unsubscribe", args=[unsubscribe_token(grace.pk)])

    response = client.post(url, {"List-Unsubscribe": "One-Click"})

    assert response.status_code == 200
    assert ConsentChange.objects.get().how == ConsentChange.How.ONE_CLICK


def test_a_tampered_link_changes_nothing(client, grace):
    token = unsubscribe_token(grace.pk)
    response = client.post(reverse("unsubscribe", args=[token[:-3] + "xyz"]))

    assert response.status_code == 404
    assert "This link is not valid" in response.content.decode()
    grace.refresh_from_db()
    assert not grace.unsubscribed


def test_a_staff_change_is_recorded_too(grace, cs_manager):
    from apps.customers.services import contact_update

    contact_update(contact=grace, actor=None, unsubscribed=True)
    contact_update(contact=grace, actor=None, unsubscribed=False, consent_reason="Asked again")

    recorded = ConsentChange.objects.order_by("id").values_list("unsubscribed", "how", "reason")
    assert list(recorded) == [(True, "staff", ""), (False, "staff", "Asked again")]
    assert mail.outbox == []
