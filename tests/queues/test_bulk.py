"""Acting on many tasks at once: each succeeds or fails on its own."""

import datetime as dt

import pytest

from apps.core import clock
from apps.core.errors import ValidationFailed
from apps.queues.models import Task
from apps.queues.services import task_complete, tasks_bulk
from tests.factories import QueueFactory, TaskFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def onboarding(csm, cs_manager):
    return QueueFactory(name="Onboarding", members=[csm], manager=cs_manager)


def test_one_refused_task_does_not_stop_the_others(csm, onboarding):
    rita = UserFactory(username="rita", first_name="Rita", last_name="Jones", role="CSM")
    free = TaskFactory(queue=onboarding, title="Free")
    taken = TaskFactory(queue=onboarding, title="Taken", assignee=rita)
    also_free = TaskFactory(queue=onboarding, title="Also free")

    result = tasks_bulk(tasks=[free, taken, also_free], actor=csm, action="claim")

    assert [(i.task_id, i.ok) for i in result.items] == [
        (free.pk, True),
        (taken.pk, False),
        (also_free.pk, True),
    ]
    assert result.items[1].message == "This task is already claimed by Rita Jones."
    assert (result.succeeded, result.failed) == (2, 1)
    assert result.summary == "Claimed 2 of 3 tasks; 1 refused"
    assert set(Task.objects.filter(assignee=csm).values_list("title", flat=True)) == {
        "Free",
        "Also free",
    }


def test_bulk_complete_reports_the_missing_outcome_per_task(csm, onboarding):
    call = TaskFactory(queue=onboarding, assignee=csm, kind="call")
    note = TaskFactory(queue=onboarding, assignee=csm)

    result = tasks_bulk(tasks=[call, note], actor=csm, action="complete", notes="Batch")

    assert [i.ok for i in result.items] == [False, True]
    assert result.items[0].message.startswith("Say how it went")
    assert Task.objects.get(pk=call.pk).status == Task.Status.OPEN
    assert Task.objects.get(pk=note.pk).status == Task.Status.DONE


def test_bulk_snooze_assign_and_cancel(csm, cs_manager, onboarding):
    tasks = TaskFactory.create_batch(2, queue=onboarding)
    done = TaskFactory(queue=onboarding, assignee=csm)
    task_complete(task=done, actor=csm)
    now = dt.datetime(2026, 11, 23, 10, 0, tzinfo=dt.UTC)

    with clock.frozen(now):
        assigned = tasks_bulk(tasks=tasks, actor=cs_manager, action="assign", assignee=csm)
        snoozed = tasks_bulk(
            tasks=tasks, actor=csm, action="snooze", until=now + dt.timedelta(days=1)
        )
    cancelled = tasks_bulk(tasks=[*tasks, done], actor=csm, action="cancel", reason="Dup")

    assert assigned.failed == snoozed.failed == 0
    assert [i.ok for i in cancelled.items] == [True, True, False]
    assert cancelled.items[2].message == "This task is already done."


def test_the_summary_says_what_happened_to_how_many_and_for_whom(csm, cs_manager, onboarding):
    csm.first_name, csm.last_name = "Carla", "Jensen"
    csm.save()
    tasks = TaskFactory.create_batch(3, queue=onboarding)
    until = dt.datetime(2026, 12, 1, 14, 5, tzinfo=dt.UTC)

    with clock.frozen(dt.datetime(2026, 11, 23, 10, 0, tzinfo=dt.UTC)):
        assigned = tasks_bulk(tasks=tasks, actor=cs_manager, action="assign", assignee=csm)
        snoozed = tasks_bulk(tasks=tasks[:1], actor=csm, action="snooze", until=until)
        refused = tasks_bulk(tasks=tasks[:1], actor=cs_manager, action="claim")
    completed = tasks_bulk(tasks=tasks[1:], actor=csm, action="complete")

    assert assigned.summary == "Assigned 3 tasks to Carla Jensen"
    assert snoozed.summary == "Snoozed 1 task until Tue 1 Dec 2026, 14:05"
    assert refused.summary == "No task claimed; 1 refused"
    assert completed.summary == "Completed 2 tasks"


def test_an_unknown_action_is_refused_up_front(csm, onboarding):
    with pytest.raises(ValidationFailed) as refused:
        tasks_bulk(tasks=[TaskFactory(queue=onboarding)], actor=csm, action="delete")

    assert list(refused.value.errors) == ["action"]


def test_a_bulk_snooze_past_the_due_date_says_so_for_each_task(csm, onboarding):
    now = dt.datetime(2026, 11, 23, 10, 0, tzinfo=dt.UTC)
    late = TaskFactory(queue=onboarding, assignee=csm, due_at=now + dt.timedelta(hours=2))
    fine = TaskFactory(queue=onboarding, assignee=csm, due_at=now + dt.timedelta(days=5))

    with clock.frozen(now):
        result = tasks_bulk(
            tasks=[late, fine], actor=csm, action="snooze", until=now + dt.timedelta(days=1)
        )

    assert [i.ok for i in result.items] == [True, True]  # allowed all the same
    assert [i.warned for i in result.items] == [True, False]
    assert "it will be overdue" in result.items[0].message
    assert result.items[1].message == "Snoozed."
    assert result.summary == (
        "Snoozed 2 tasks until Tue 24 Nov 2026, 10:00; "
        "1 will be overdue or breach the SLA (see each task)"
    )
