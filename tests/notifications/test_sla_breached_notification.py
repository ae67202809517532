"""An SLA breach tells the assignee and the queue's manager, once each."""

import datetime as dt

import pytest

from apps.core import clock
from apps.core.events import event_process
from apps.core.models import DomainEvent
from apps.notifications.models import EmailMessage, Notification
from apps.notifications.reminders import task_sla_breached_notify
from apps.queues.services import task_complete, tasks_check_slas
from tests.factories import QueueFactory, TaskFactory

pytestmark = pytest.mark.django_db

SLA_BREACHED = Notification.Reason.SLA_BREACHED
NOW = dt.datetime(2026, 11, 24, 10, 0, tzinfo=dt.UTC)


def process_events() -> None:
    for event_id in DomainEvent.objects.filter(processed_at__isnull=True).values_list(
        "id", flat=True
    ):
        event_process(event_id=event_id)


def breach_slas() -> None:
    with clock.frozen(NOW):
        tasks_check_slas()
        process_events()


def told(user) -> int:
    return Notification.objects.filter(recipient=user, reason=SLA_BREACHED).count()


def emailed(user) -> int:
    return EmailMessage.objects.filter(recipient=user).count()


@pytest.fixture
def renewals(csm, cs_manager):
    return QueueFactory(name="Renewals", members=[csm], manager=cs_manager)


def test_assignee_and_manager_are_told_once_each(csm, cs_manager, renewals):
    TaskFactory(
        title="Renewal call",
        queue=renewals,
        assignee=csm,
        sla_due_at=NOW - dt.timedelta(hours=1),
    )

    breach_slas()
    breach_slas()
    # A duplicate delivery of the same event.
    task_sla_breached_notify(DomainEvent.objects.get(name="task.sla_breached"))

    assert (told(csm), told(cs_manager)) == (1, 1)
    assert (emailed(csm), emailed(cs_manager)) == (1, 1)
    email = EmailMessage.objects.get(recipient=cs_manager)
    assert email.subject == "SLA breached: Renewal call"
    assert f"it is assigned to {csm.get_full_name()}" in email.body_text


def test_a_manager_working_the_task_is_told_once(cs_manager, renewals):
    TaskFactory(queue=renewals, assignee=cs_manager, sla_due_at=NOW - dt.timedelta(hours=1))

    breach_slas()

    assert told(cs_manager) == 1
    assert emailed(cs_manager) == 1


def test_an_unassigned_task_tells_the_manager(cs_manager, renewals):
    TaskFactory(queue=renewals, assignee=None, sla_due_at=NOW - dt.timedelta(hours=1))

    breach_slas()

    assert Notification.objects.get().recipient == cs_manager
    assert "nobody has claimed it" in EmailMessage.objects.get().body_text


def test_a_task_done_before_the_event_is_processed_tells_nobody(csm, cs_manager, renewals):
    task = TaskFactory(queue=renewals, assignee=csm, sla_due_at=NOW - dt.timedelta(hours=1))
    with clock.frozen(NOW):
        tasks_check_slas()
    task.refresh_from_db()
    task_complete(task=task, actor=csm)

    process_events()

    assert not Notification.objects.filter(reason=SLA_BREACHED).exists()
    assert not EmailMessage.objects.exists()
