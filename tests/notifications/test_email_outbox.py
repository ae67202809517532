"""The email outbox: queued in the writer's transaction, sent once after commit."""

import datetime as dt
import logging
import threading

import pytest
from django.core.mail.backends.locmem import EmailBackend
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.core import clock
from apps.notifications import services
from apps.notifications.models import EmailMessage
from apps.notifications.services import (
    OutgoingEmail,
    email_deliver,
    email_queue,
    email_withdraw,
    emails_deliver_due,
    emails_queue_many,
)
from tests.services import app_broker, free_port, require_postgres

pytestmark = pytest.mark.django_db


def queue_welcome(key: str = "welcome:1", **overrides) -> EmailMessage:
    fields = {
        "to_email": "grace@globex.test",
        "to_name": "Grace Hopper",
        "subject": "Welcome aboard, Globex",
        "body_text": "Your onboarding starts today.",
        "idempotency_key": key,
    }
    return email_queue(**{**fields, **overrides})


def after_grace(seconds: int = 60) -> dt.datetime:
    return clock.now() + dt.timedelta(seconds=seconds)


def test_email_is_sent_once_even_if_delivered_twice(mailoutbox):
    email = queue_welcome()

    assert email_deliver(email_id=email.pk) == "sent"
    assert email_deliver(email_id=email.pk) == "skipped: sent"

    assert len(mailoutbox) == 1
    sent = mailoutbox[0]
    assert sent.to == ["Grace Hopper <grace@globex.test>"]
    assert sent.subject == "Welcome aboard, Globex"
    assert sent.body == "Your onboarding starts today."
    assert sent.from_email == "Afterwin <noreply@afterwin.local>"
    email.refresh_from_db()
    assert email.status == EmailMessage.Status.SENT and email.sent_at is not None
    assert email.attempts == 1


def test_queueing_twice_with_the_same_key_writes_one_email(mailoutbox):
    first = queue_welcome()
    second = queue_welcome(subject="A different subject")

    assert second.pk == first.pk
    assert EmailMessage.objects.count() == 1
    assert emails_deliver_due() == 0  # fresh: left to its own message for a moment
    with clock.frozen(after_grace()):
        assert emails_deliver_due() == 1
    assert [m.subject for m in mailoutbox] == ["Welcome aboard, Globex"]


def test_html_part_and_stable_message_id(mailoutbox):
    email = queue_welcome(body_html="<p>Your onboarding starts today.</p>")
    email_deliver(email_id=email.pk)

    message = mailoutbox[0].message()
    assert message["Message-ID"].endswith("@afterwin.local>")
    assert mailoutbox[0].alternatives[0].mimetype == "text/html"
    other = queue_welcome(key="welcome:2")
    email_deliver(email_id=other.pk)
    assert mailoutbox[1].message()["Message-ID"] != message["Message-ID"]


def test_line_breaks_in_a_rendered_subject_do_not_break_the_email(mailoutbox):
    email = queue_welcome(subject="Welcome aboard,\n  Globex")

    assert email_deliver(email_id=email.pk) == "sent"
    assert mailoutbox[0].subject == "Welcome aboard, Globex"


def test_withdrawn_email_is_never_sent(mailoutbox):
    email = queue_welcome()

    assert email_withdraw(email=email, reason="Deal reopened") is True
    assert email_deliver(email_id=email.pk) == "skipped: withdrawn"
    with clock.frozen(after_grace(3600)):
        assert emails_deliver_due() == 0

    assert mailoutbox == []
    email.refresh_from_db()
    assert (email.status, email.withdrawn_reason) == ("withdrawn", "Deal reopened")


def test_a_sent_email_cannot_be_withdrawn(mailoutbox):
    email = queue_welcome()
    email_deliver(email_id=email.pk)

    assert email_withdraw(email=email, reason="too late") is False
    email.refresh_from_db()
    assert email.status == EmailMessage.Status.SENT


def test_dead_broker_does_not_fail_the_writer_and_the_sweep_delivers(
    mailoutbox, django_capture_on_commit_callbacks, caplog
):
    dead_broker = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there

    with (
        caplog.at_level(logging.WARNING, logger="apps.notifications.services"),
        app_broker(dead_broker),
        django_capture_on_commit_callbacks(execute=True),
    ):
        email = queue_welcome()  # the commit succeeds even though the send fails

    assert "the sweep will pick it up" in caplog.text
    assert EmailMessage.objects.get(pk=email.pk).status == EmailMessage.Status.QUEUED
    assert mailoutbox == []

    with clock.frozen(after_grace()):
        assert emails_deliver_due() == 1
        assert emails_deliver_due() == 0  # running the sweep twice sends nothing twice
    assert len(mailoutbox) == 1


def test_queued_email_is_handed_to_the_email_queue_after_commit(
    django_capture_on_commit_callbacks, monkeypatch
):
    from apps.notifications import tasks

    sent = []
    monkeypatch.setattr(tasks.deliver_email, "delay", lambda email_id: sent.append(email_id))

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        email = queue_welcome()
        assert sent == []  # nothing leaves before commit
    for callback in callbacks:
        callback()

    assert sent == [email.pk]
    from config.celery import app

    route = app.amqp.router.route({}, "notifications.deliver_email")
    assert route["queue"].name == "email"


class WorkerKilled(BaseException):
    """Stands in for a worker process that dies in the middle of the SMTP conversation."""


def test_email_held_by_a_dead_worker_is_sent_once_its_lease_expires(mailoutbox, monkeypatch):
    email = queue_welcome()

    def killed(self, messages):
        raise WorkerKilled

    monkeypatch.setattr(EmailBackend, "send_messages", killed)
    with pytest.raises(WorkerKilled):
        email_deliver(email_id=email.pk)
    monkeypatch.undo()
    email.refresh_from_db()
    assert email.status == EmailMessage.Status.SENDING

    assert emails_deliver_due() == 0  # the lease is still held
    assert email_withdraw(email=email, reason="too late") is False  # may be on the wire
    with clock.frozen(email.lease_until + dt.timedelta(seconds=1)):
        assert emails_deliver_due() == 1
    assert len(mailoutbox) == 1
    email.refresh_from_db()
    assert (email.status, email.attempts) == ("sent", 2)


@pytest.mark.django_db(transaction=True)
def test_concurrent_deliveries_send_one_email(mailoutbox, monkeypatch):
    email = queue_welcome()
    original = EmailBackend.send_messages
    barrier = threading.Barrier(4)
    results = []

    def slow_send(self, messages):
        threading.Event().wait(0.2)  # widen the window in which a second send could start
        return original(self, messages)

    monkeypatch.setattr(EmailBackend, "send_messages", slow_send)

    def worker():
        try:
            barrier.wait()
            results.append(email_deliver(email_id=email.pk))
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert len(results) == 4 and results.count("sent") == 1
    assert all(r.startswith("skipped") for r in results if r != "sent")
    assert len(mailoutbox) == 1


def queue_many(count: int) -> list[EmailMessage]:
    emails = [
        OutgoingEmail(
            to_email=f"person{n}@globex.test",
            to_name=f"Person {n}",
            subject="Your QBR",
            body_text="See you there.",
            idempotency_key=f"qbr:{n}",
        )
        for n in range(count)
    ]
    return emails_queue_many(emails=emails)


def test_the_sweep_sends_batch_after_batch_until_none_is_due(mailoutbox):
    queue_many(5)

    assert emails_deliver_due(limit=2) == 5
    assert emails_deliver_due(limit=2) == 0
    assert sorted(message.to[0] for message in mailoutbox)[0] == "Person 0 <person0@globex.test>"
    assert len(mailoutbox) == 5
    assert set(EmailMessage.objects.values_list("status", "attempts")) == {("sent", 1)}


def test_a_delivery_run_marks_its_batch_sent_with_one_statement(mailoutbox):
    queue_many(4)

    with CaptureQueriesContext(connection) as queries:
        assert emails_deliver_due() == 4

    marks = [q["sql"] for q in queries if "UPDATE" in q["sql"] and "sent_at" in q["sql"]]
    assert len(marks) == 1
    assert set(EmailMessage.objects.values_list("status", "attempts")) == {("sent", 1)}


def test_a_run_killed_before_its_marks_sends_them_again_with_the_same_message_id(
    mailoutbox, monkeypatch
):
    queue_many(3)
    sent = []
    real_send = EmailBackend.send_messages

    def dies_on_the_third(self, messages):
        if len(sent) == 2:
            raise WorkerKilled  # two sent, their marks not yet written
        sent.extend(messages)
        return real_send(self, messages)

    monkeypatch.setattr(services, "MARK_SENT_EVERY", 3600.0)
    monkeypatch.setattr(services, "_emails_mark_sent", lambda ids: None)  # the process dies first
    monkeypatch.setattr(EmailBackend, "send_messages", dies_on_the_third)
    with pytest.raises(WorkerKilled):
        emails_deliver_due()
    monkeypatch.undo()
    assert set(EmailMessage.objects.values_list("status", flat=True)) == {"sending"}

    with clock.frozen(after_grace(services.EMAIL_LEASE.total_seconds() + 1)):
        assert emails_deliver_due() == 3
    first_ids = [m.extra_headers["Message-ID"] for m in sent]
    again = [m.extra_headers["Message-ID"] for m in mailoutbox[2:]]
    assert set(first_ids) <= set(again)  # the two resent are the same messages to a mail client
    assert set(EmailMessage.objects.values_list("status", flat=True)) == {"sent"}


def test_a_slow_mail_server_gives_back_what_it_could_not_send_in_time(mailoutbox, monkeypatch):
    queue_many(3)
    # The lease runs out at once: nothing claimed may be sent, and nothing is lost.
    monkeypatch.setattr(services, "EMAIL_LEASE", dt.timedelta(0))

    assert emails_deliver_due(seconds=0.5) == 0
    assert mailoutbox == []
    assert set(EmailMessage.objects.values_list("status", "attempts", "lease_until")) == {
        ("queued", 0, None)
    }


@pytest.mark.django_db(transaction=True)
def test_two_sweeps_at_once_claim_different_emails(mailoutbox, monkeypatch):
    require_postgres()
    queue_many(40)
    original = EmailBackend.send_messages
    barrier = threading.Barrier(2)
    totals = []

    def slow_send(self, messages):
        threading.Event().wait(0.01)
        return original(self, messages)

    monkeypatch.setattr(EmailBackend, "send_messages", slow_send)

    def sweep():
        try:
            barrier.wait()
            totals.append(emails_deliver_due(limit=5))
        finally:
            connection.close()

    threads = [threading.Thread(target=sweep) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert sum(totals) == 40 and all(totals)  # both took part, neither sent one twice
    assert len(mailoutbox) == 40
    assert len({message.to[0] for message in mailoutbox}) == 40
