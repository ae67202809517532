"""Snoozing hides a task until a time, then it comes back; "my work" buckets by local day."""

import datetime as dt

import pytest

from apps.core import clock
from apps.core.errors import ValidationFailed
from apps.core.models import DomainEvent
from apps.queues.models import Task, TaskActivity
from apps.queues.selectors import my_work, task_list
from apps.queues.services import task_snooze
from tests.factories import ProfileFactory, QueueFactory, TaskFactory

pytestmark = pytest.mark.django_db

# Monday 23 Nov 2026, 10:00 in New York (15:00 UTC).
NOW = dt.datetime(2026, 11, 23, 15, 0, tzinfo=dt.UTC)


def titles(tasks) -> list[str]:
    return [t.title for t in tasks]


@pytest.fixture
def carlas_work(csm):
    ProfileFactory(user=csm, timezone="America/New_York")
    queue = QueueFactory(name="Onboarding", members=[csm])

    def task(title, due_in_hours, **fields):
        due = None if due_in_hours is None else NOW + dt.timedelta(hours=due_in_hours)
        return TaskFactory(title=title, queue=queue, assignee=csm, due_at=due, **fields)

    return {
        "late": task("Late", -2),
        "this_afternoon": task("This afternoon", 4),
        "tonight": task("Tonight 23:00 NY", 13),  # still today in New York, tomorrow in UTC
        "tomorrow": task("Tomorrow", 24),
        "someday": task("Someday", None),
    }


def test_my_work_buckets_by_the_users_own_day(csm, carlas_work):
    work = my_work(user=csm, now=NOW)

    assert titles(work["overdue"]) == ["Late"]
    assert titles(work["today"]) == ["This afternoon", "Tonight 23:00 NY"]
    assert titles(work["upcoming"]) == ["Tomorrow", "Someday"]
    assert titles(work["snoozed"]) == []


def test_a_snoozed_task_is_hidden_until_its_time_then_returns(csm, carlas_work):
    late = carlas_work["late"]
    with clock.frozen(NOW):
        task_snooze(task=late, actor=csm, until=NOW + dt.timedelta(hours=3))

    work = my_work(user=csm, now=NOW)
    assert titles(work["snoozed"]) == ["Late"]
    assert "Late" not in titles(work["overdue"])
    with clock.frozen(NOW):
        assert "Late" not in titles(task_list(user=csm, filters={}))
        assert titles(task_list(user=csm, filters={"snoozed": "only"})) == ["Late"]

    with clock.frozen(NOW + dt.timedelta(hours=3, minutes=1)):
        back = my_work(user=csm, now=clock.now())
        assert titles(back["overdue"]) == ["Late"]
        assert titles(back["snoozed"]) == []
        assert "Late" in titles(task_list(user=csm, filters={}))

    assert Task.objects.get(pk=late.pk).status == Task.Status.OPEN
    assert TaskActivity.objects.get(task=late, kind="snoozed").actor == csm
    event = DomainEvent.objects.get(name="task.snoozed")
    assert event.payload == {
        "task_id": late.pk,
        "assignee_id": csm.pk,
        "until": (NOW + dt.timedelta(hours=3)).isoformat(),
    }


def test_snoozing_into_the_past_is_refused(csm, carlas_work):
    with clock.frozen(NOW), pytest.raises(ValidationFailed) as refused:
        task_snooze(task=carlas_work["late"], actor=csm, until=NOW - dt.timedelta(minutes=1))

    assert list(refused.value.errors) == ["until"]
    assert Task.objects.get(pk=carlas_work["late"].pk).snoozed_until is None


def test_due_filters_use_the_users_day(csm, carlas_work):
    with clock.frozen(NOW):
        assert titles(task_list(user=csm, filters={"due": "overdue"})) == ["Late"]
        # Due during the user's calendar day, this morning's late task included.
        assert titles(task_list(user=csm, filters={"due": "today"})) == [
            "Late",
            "This afternoon",
            "Tonight 23:00 NY",
        ]
        assert titles(task_list(user=csm, filters={"due": "week"})) == [
            "Late",
            "This afternoon",
            "Tonight 23:00 NY",
            "Tomorrow",
        ]
