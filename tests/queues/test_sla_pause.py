"""A queue may stop a task's SLA clock while the task is snoozed: its deadline moves by
the business hours spent snoozed, and the breach check follows. Off (the default), the
clock runs on and a snoozed task breaches on time."""

import datetime as dt
import zoneinfo

import pytest

from apps.core import clock
from apps.queues.models import Task
from apps.queues.services import task_create, task_snooze, tasks_check_slas
from tests.factories import QueueFactory

pytestmark = pytest.mark.django_db

BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")
MONDAY_9 = dt.datetime(2026, 11, 30, 9, 0, tzinfo=BERLIN)


def hours(n: float) -> dt.timedelta:
    return dt.timedelta(hours=n)


def snoozed_task(csm, *, pause: bool) -> Task:
    """A 4-hour SLA task made on Monday 09:00 (due 13:00), snoozed at 10:00 until
    Tuesday 10:00 with three working hours left."""
    queue = QueueFactory(
        timezone="Europe/Berlin", country="DE", sla_hours=4, pause_sla_while_snoozed=pause
    )
    queue.members.add(csm)
    with clock.frozen(MONDAY_9):
        task = task_create(queue=queue, title="Wait for the customer's logs", assignee=csm)
    assert task.sla_due_at == MONDAY_9 + hours(4)
    with clock.frozen(MONDAY_9 + hours(1)):
        task_snooze(task=task, actor=csm, until=MONDAY_9 + hours(25))
    task.refresh_from_db()
    return task


def breaches_at(moment: dt.datetime) -> int:
    with clock.frozen(moment):
        return tasks_check_slas()


def test_a_pausing_queue_moves_the_deadline_by_the_snoozed_business_hours(csm):
    task = snoozed_task(csm, pause=True)

    # Three hours were left at 10:00 on Monday; they count again from Tuesday 10:00.
    assert task.sla_due_at == MONDAY_9 + hours(24 + 4)
    assert breaches_at(MONDAY_9 + hours(4.5)) == 0
    assert breaches_at(MONDAY_9 + hours(27.5)) == 0
    assert breaches_at(MONDAY_9 + hours(28.5)) == 1
    assert "SLA clock paused" in task.activities.get(kind="snoozed").message


def test_snoozing_again_while_snoozed_counts_from_when_the_clock_would_restart(csm):
    task = snoozed_task(csm, pause=True)

    with clock.frozen(MONDAY_9 + hours(2)):  # still snoozed: its clock is stopped
        task_snooze(task=task, actor=csm, until=MONDAY_9 + hours(49))  # Wednesday 10:00
    task.refresh_from_db()

    assert task.sla_due_at == MONDAY_9 + hours(48 + 4)


def test_without_the_setting_a_snoozed_task_breaches_on_time(csm):
    task = snoozed_task(csm, pause=False)

    assert task.sla_due_at == MONDAY_9 + hours(4)
    assert breaches_at(MONDAY_9 + hours(4.5)) == 1
    task.refresh_from_db()
    assert task.sla_breached_at == MONDAY_9 + hours(4.5)
