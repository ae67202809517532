"""Overdue reminders: once per task, not for finished or snoozed tasks; a backup covers."""

import datetime as dt

import pytest

from apps.core import clock
from apps.core.events import event_process
from apps.core.models import DomainEvent
from apps.notifications.models import EmailMessage, Notification
from apps.notifications.reminders import task_reminders_send
from apps.notifications.services import email_deliver
from apps.queues.services import task_cancel, task_complete
from tests.factories import ProfileFactory, QueueFactory, TaskFactory, UserFactory

pytestmark = pytest.mark.django_db

OVERDUE = Notification.Reason.TASK_OVERDUE
NOW = dt.datetime(2026, 11, 24, 10, 0, tzinfo=dt.UTC)
YESTERDAY = NOW - dt.timedelta(days=1)


def remind(moment: dt.datetime = NOW) -> int:
    with clock.frozen(moment):
        return task_reminders_send(now=moment)


@pytest.fixture
def onboarding(csm):
    return QueueFactory(name="Onboarding", members=[csm])


def test_an_overdue_task_is_reminded_once(csm, onboarding):
    TaskFactory(title="Kickoff call", queue=onboarding, assignee=csm, due_at=YESTERDAY)

    assert remind() == 1
    assert remind() == 0
    assert remind(NOW + dt.timedelta(days=3)) == 0

    notification = Notification.objects.get(recipient=csm)
    assert (notification.reason, notification.title) == (OVERDUE, "Overdue: Kickoff call")
    # The due-soon moment was missed; an overdue task gets only the overdue reminder.
    assert Notification.objects.count() == 1


def test_no_reminder_for_finished_tasks(csm, onboarding):
    done = TaskFactory(queue=onboarding, assignee=csm, due_at=YESTERDAY)
    task_complete(task=done, actor=csm)
    cancelled = TaskFactory(queue=onboarding, assignee=csm, due_at=YESTERDAY)
    task_cancel(task=cancelled, reason="Deal reopened.")

    assert remind() == 0
    assert not Notification.objects.exists()


def test_a_snoozed_task_is_reminded_when_the_snooze_ends(csm, onboarding):
    TaskFactory(
        queue=onboarding, assignee=csm, due_at=YESTERDAY, snoozed_until=NOW.replace(hour=14)
    )

    assert remind() == 0
    assert remind(NOW.replace(hour=14)) == 1


def test_unassigned_tasks_remind_nobody(onboarding):
    TaskFactory(queue=onboarding, assignee=None, due_at=YESTERDAY)

    assert remind() == 0


def test_while_the_assignee_is_out_of_office_their_backup_is_reminded(csm, onboarding):
    bea = UserFactory(username="bea", first_name="Bea", role="CSM")
    ProfileFactory(
        user=csm,
        out_of_office_from=NOW.date() - dt.timedelta(days=2),
        out_of_office_until=NOW.date() + dt.timedelta(days=5),
        backup=bea,
    )
    TaskFactory(title="Kickoff call", queue=onboarding, assignee=csm, due_at=YESTERDAY)

    assert remind() == 1

    notification = Notification.objects.get()
    assert notification.recipient == bea
    assert notification.title == (f"Covering for {csm.get_full_name()}: Overdue: Kickoff call")
    # One reminder per task: Carla is not reminded again when she is back.
    assert remind(NOW + dt.timedelta(days=7)) == 0


def test_completing_the_task_stops_its_unsent_reminder_email(csm, onboarding, mailoutbox):
    ProfileFactory(user=csm, channels={"task_overdue": ["in_app", "email"]})
    task = TaskFactory(queue=onboarding, assignee=csm, due_at=YESTERDAY)
    remind()
    email = EmailMessage.objects.get(recipient=csm)

    task_complete(task=task, actor=csm)
    event = DomainEvent.objects.get(name="task.completed", aggregate_id=task.pk)
    assert event_process(event_id=event.pk)

    email.refresh_from_db()
    assert email.status == EmailMessage.Status.WITHDRAWN
    assert email_deliver(email_id=email.pk) == "skipped: withdrawn"
    assert mailoutbox == []


def test_beat_runs_the_reminder_job_every_five_minutes(csm, onboarding, settings):
    from apps.notifications import tasks  # noqa: F401  (as the worker's autodiscovery does)
    from config.celery import app

    [entry] = [
        entry
        for entry in settings.CELERY_BEAT_SCHEDULE.values()
        if entry["task"] == "notifications.send_task_reminders"
    ]
    TaskFactory(queue=onboarding, assignee=csm, due_at=YESTERDAY)

    with clock.frozen(NOW):
        assert app.tasks[entry["task"]]() == 1

    assert entry["schedule"] == 300
    assert Notification.objects.filter(recipient=csm, reason=OVERDUE).exists()


def test_a_switched_off_reminder_is_decided_once_and_does_not_crowd_out_others(
    csm, onboarding, settings, monkeypatch
):
    from apps.notifications import reminders

    monkeypatch.setattr(reminders, "REMINDER_BATCH", 2)
    ProfileFactory(user=csm, channels={"task_overdue": []})  # overdue reminders off
    for n in range(3):
        TaskFactory(title=f"Old {n}", queue=onboarding, assignee=csm, due_at=YESTERDAY)
    colleague = UserFactory(username="cleo", role="CSM")
    onboarding.members.add(colleague)
    TaskFactory(title="Colleague's task", queue=onboarding, assignee=colleague, due_at=NOW)

    # Run 1 decides two silenced ones, run 2 the third, run 3 reaches the colleague.
    for _ in range(3):
        remind(NOW + dt.timedelta(minutes=1))

    assert not Notification.objects.filter(recipient=csm).exists()
    assert Notification.objects.filter(recipient=colleague, reason=OVERDUE).count() == 1
