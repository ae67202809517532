"""A failing mail server: retries with backoff, dead after the last attempt, retry from admin."""

import datetime as dt
import smtplib

import pytest
from django.core.mail.backends.locmem import EmailBackend
from django.urls import reverse

from apps.core import clock
from apps.notifications import services
from apps.notifications.models import EmailMessage
from apps.notifications.services import email_deliver, email_queue, emails_deliver_due

pytestmark = pytest.mark.django_db


@pytest.fixture
def smtp_down():
    """The mail server refuses every message until the test calls ``smtp_down.undo()``."""

    def refuse(self, messages):
        raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(EmailBackend, "send_messages", refuse)
        yield patch


def queue_checkin() -> EmailMessage:
    return email_queue(
        to_email="grace@globex.test",
        subject="Your 30-day check-in",
        body_text="How is it going?",
        idempotency_key="checkin:1",
    )


def reload(email: EmailMessage) -> EmailMessage:
    email.refresh_from_db()
    return email


def test_failed_send_is_retried_later_by_the_sweep(mailoutbox, smtp_down):
    email = queue_checkin()

    assert email_deliver(email_id=email.pk) == "failed"
    email = reload(email)
    assert email.next_attempt_at > clock.now()
    assert "Connection unexpectedly closed" in email.last_error
    assert emails_deliver_due() == 0  # the retry is not due yet
    assert email_deliver(email_id=email.pk) == "skipped: failed"  # nor for a stray message

    smtp_down.undo()  # the mail server is back
    with clock.frozen(email.next_attempt_at + dt.timedelta(seconds=1)):
        assert emails_deliver_due() == 1
        assert emails_deliver_due() == 0

    assert len(mailoutbox) == 1
    email = reload(email)
    assert (email.status, email.attempts, email.last_error) == ("sent", 2, "")


def test_backoff_grows_then_the_email_is_dead(mailoutbox, smtp_down):
    email = queue_checkin()
    email_deliver(email_id=email.pk)
    delays = []

    for _ in range(services.EMAIL_MAX_ATTEMPTS - 1):
        email = reload(email)
        with clock.frozen(email.next_attempt_at + dt.timedelta(seconds=1)):
            emails_deliver_due()
            delays.append(reload(email).next_attempt_at - clock.now())

    email = reload(email)
    assert email.status == EmailMessage.Status.DEAD
    assert email.attempts == services.EMAIL_MAX_ATTEMPTS
    assert delays[0] < delays[1] < delays[2]  # exponential backoff between attempts
    with clock.frozen(clock.now() + dt.timedelta(days=30)):
        smtp_down.undo()
        assert emails_deliver_due() == 0  # a dead email stays dead until someone retries it
    assert mailoutbox == []


def test_admin_retry_now_revives_a_dead_email(
    mailoutbox, smtp_down, client, admin_user, monkeypatch, django_capture_on_commit_callbacks
):
    from apps.notifications import tasks

    monkeypatch.setattr(services, "EMAIL_MAX_ATTEMPTS", 1)
    email = queue_checkin()
    email_deliver(email_id=email.pk)
    assert reload(email).status == EmailMessage.Status.DEAD
    smtp_down.undo()
    # Run the delivery task in-process, as a worker on the email queue would.
    monkeypatch.setattr(tasks.deliver_email, "delay", tasks.deliver_email)

    client.force_login(admin_user)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("admin:notifications_emailmessage_changelist"),
            {"action": "retry_now", "_selected_action": [email.pk]},
            follow=True,
        )

    assert response.status_code == 200
    assert "1 email(s) queued for delivery now." in response.content.decode()
    assert len(mailoutbox) == 1
    assert reload(email).status == EmailMessage.Status.SENT


def test_admin_retry_now_leaves_sent_emails_alone(mailoutbox, client, admin_user):
    email = queue_checkin()
    email_deliver(email_id=email.pk)

    client.force_login(admin_user)
    response = client.post(
        reverse("admin:notifications_emailmessage_changelist"),
        {"action": "retry_now", "_selected_action": [email.pk]},
        follow=True,
    )

    assert "only failed or dead emails are retried" in response.content.decode()
    assert len(mailoutbox) == 1
    assert reload(email).attempts == 1
