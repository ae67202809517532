"""A task given to someone: they hear about it once, in the app and by email."""

import datetime as dt

import pytest
from django.urls import reverse

from apps.core import clock
from apps.core.events import event_process
from apps.core.models import DomainEvent
from apps.notifications.models import EmailMessage, Notification
from apps.notifications.reminders import task_assigned_notify
from apps.notifications.services import email_deliver
from apps.queues.services import task_cancel, task_create
from tests.factories import AccountFactory, ProfileFactory, QueueFactory

pytestmark = pytest.mark.django_db

MONDAY_NOON = dt.datetime(2026, 11, 23, 12, 0, tzinfo=dt.UTC)


def process_events() -> None:
    for event_id in DomainEvent.objects.filter(processed_at__isnull=True).values_list(
        "id", flat=True
    ):
        event_process(event_id=event_id)


@pytest.fixture
def onboarding(csm, cs_manager):
    return QueueFactory(name="Onboarding", members=[csm], manager=cs_manager)


def kickoff_for(assignee, *, queue, actor, **fields):
    return task_create(
        queue=queue,
        title="Kickoff call with Globex",
        account=AccountFactory(name="Globex"),
        assignee=assignee,
        assignment_reason="Carla is the account's CSM.",
        due_at=dt.datetime(2026, 11, 24, 14, 0, tzinfo=dt.UTC),
        actor=actor,
        **fields,
    )


def test_assignee_gets_one_notification_and_one_email(csm, cs_manager, onboarding, mailoutbox):
    ProfileFactory(user=csm, timezone="Europe/Berlin")
    with clock.frozen(MONDAY_NOON):
        task = kickoff_for(csm, queue=onboarding, actor=cs_manager)
        process_events()

    notification = Notification.objects.get()
    assert notification.recipient == csm
    assert notification.reason == Notification.Reason.TASK_ASSIGNED
    assert notification.title == "New task for you: Kickoff call with Globex"
    assert "Globex · Onboarding" in notification.body
    assert "Carla is the account's CSM." in notification.body
    assert notification.url == reverse("queues:task_detail", args=[task.pk])
    assert notification.read_at is None

    email = EmailMessage.objects.get()
    assert (email.recipient, email.to_email) == (csm, csm.email)
    assert email.subject == "New task for you: Kickoff call with Globex"
    # The due time is shown in Carla's own time zone.
    assert "Due:      Tue 24 Nov 2026, 15:00 (Europe/Berlin)" in email.body_text
    assert "Why you: Carla is the account's CSM." in email.body_text
    assert "<strong>Kickoff call with Globex</strong>" in email.body_html

    assert email_deliver(email_id=email.pk) == "sent"
    sent = mailoutbox[0]
    assert sent.subject == "New task for you: Kickoff call with Globex"
    assert sent.alternatives[0].mimetype == "text/html"


def test_a_repeated_event_notifies_nobody_twice(csm, cs_manager, onboarding):
    kickoff_for(csm, queue=onboarding, actor=cs_manager)
    process_events()
    event = DomainEvent.objects.get(name="task.assigned")

    # As a handler retried after a failure half-way would run again.
    task_assigned_notify(event)
    task_assigned_notify(event)

    assert Notification.objects.filter(recipient=csm).count() == 1
    assert EmailMessage.objects.filter(recipient=csm).count() == 1


def test_nobody_is_told_about_a_task_they_took_themselves(csm, onboarding):
    kickoff_for(csm, queue=onboarding, actor=csm)
    process_events()

    assert not Notification.objects.exists()
    assert not EmailMessage.objects.exists()


def test_a_task_cancelled_before_the_event_is_processed_notifies_nobody(
    csm, cs_manager, onboarding
):
    task = kickoff_for(csm, queue=onboarding, actor=cs_manager)
    task_cancel(task=task, reason="Deal reopened.")
    process_events()

    assert not Notification.objects.exists()
    assert not EmailMessage.objects.exists()


def test_the_previous_assignee_is_not_told_after_a_reassignment(csm, cs_manager, onboarding):
    rita = ProfileFactory(user__username="rita").user
    onboarding.members.add(rita)
    task = kickoff_for(csm, queue=onboarding, actor=cs_manager)
    # Reassigned before the first event was processed.
    task.__class__.objects.filter(pk=task.pk).update(assignee=rita)

    process_events()

    assert not Notification.objects.filter(recipient=csm).exists()
