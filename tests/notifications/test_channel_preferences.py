"""Each person chooses, per reason, whether they hear about it in the app, by email, both
or not at all."""

import datetime as dt

import pytest

from apps.core import clock
from apps.core.events import event_process
from apps.core.models import DomainEvent
from apps.notifications.models import EmailMessage, Notification
from apps.notifications.reminders import task_reminders_send
from apps.notifications.selectors import notification_channels
from apps.notifications.services import notify
from apps.queues.services import task_create
from tests.factories import ProfileFactory, QueueFactory, TaskFactory, UserFactory

pytestmark = pytest.mark.django_db

Reason = Notification.Reason
NOW = dt.datetime(2026, 11, 24, 10, 0, tzinfo=dt.UTC)


def tell(user):
    return notify(
        recipient=user,
        reason=Reason.HANDOFF_REMINDER,
        title="Book the hand-off call with Globex",
        body="Introduce Grace to Carla.",
        dedupe_key="step:1",
    )


def test_defaults_email_only_what_needs_attention_now(csm):
    assert notification_channels(csm, Reason.TASK_ASSIGNED) == {"in_app", "email"}
    assert notification_channels(csm, Reason.SLA_BREACHED) == {"in_app", "email"}
    assert notification_channels(csm, Reason.HANDOFF_REMINDER) == {"in_app", "email"}
    assert notification_channels(csm, Reason.TASK_DUE_SOON) == {"in_app"}
    assert notification_channels(csm, Reason.TASK_OVERDUE) == {"in_app"}


def test_email_switched_off_leaves_only_the_in_app_notification(csm, cs_manager):
    ProfileFactory(user=csm, channels={"task_assigned": ["in_app"]})

    task_create(
        queue=QueueFactory(members=[csm]), title="Kickoff call", assignee=csm, actor=cs_manager
    )
    for event in DomainEvent.objects.filter(processed_at__isnull=True):
        event_process(event_id=event.pk)

    notification = Notification.objects.get()
    assert (notification.recipient, notification.reason) == (csm, Reason.TASK_ASSIGNED)
    assert not EmailMessage.objects.exists()


def test_a_reason_switched_off_entirely_sends_nothing(csm):
    ProfileFactory(user=csm, channels={"handoff_reminder": []})

    assert tell(csm).created is False
    assert not Notification.objects.exists()
    assert not EmailMessage.objects.exists()


def test_overdue_by_email_only_is_emailed_once(csm):
    ProfileFactory(user=csm, channels={"task_overdue": ["email"]})
    TaskFactory(
        title="Kickoff call",
        queue=QueueFactory(members=[csm]),
        assignee=csm,
        due_at=NOW - dt.timedelta(hours=2),
    )

    with clock.frozen(NOW):
        assert task_reminders_send(now=NOW) == 1
        assert task_reminders_send(now=NOW) == 0

    assert not Notification.objects.exists()
    email = EmailMessage.objects.get()
    assert (email.recipient, email.subject) == (csm, "Overdue: Kickoff call")


def test_a_broken_preference_falls_back_to_the_default(csm):
    ProfileFactory(user=csm, channels={"task_assigned": "email please"})

    assert notification_channels(csm, Reason.TASK_ASSIGNED) == {"in_app", "email"}


def test_people_without_an_email_address_still_get_the_in_app_notification():
    quinn = UserFactory(username="quinn", email="")

    notified = tell(quinn)

    assert notified.notification.recipient == quinn
    assert not EmailMessage.objects.exists()


def test_deactivated_people_are_not_notified(csm):
    csm.is_active = False
    csm.save()

    assert tell(csm).created is False
    assert not Notification.objects.exists()
