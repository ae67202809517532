"""Completing, skipping and cancelling: outcomes, events the engine waits on, races."""

import threading

import pytest
from django.db import connection

from apps.core.errors import Conflict, NotPermitted, ValidationFailed
from apps.core.events import event_process
from apps.core.models import DomainEvent
from apps.engine.execution import step_run_execute
from apps.engine.models import StepRun
from apps.queues.models import Task, TaskActivity
from apps.queues.services import task_cancel, task_complete, task_skip, task_start
from tests.engine.test_walking_skeleton import win_and_process
from tests.factories import (
    AccountFactory,
    QueueFactory,
    TaskFactory,
    UserFactory,
    closable_deal,
    onboarding_playbook,
)
from tests.services import require_postgres


@pytest.fixture
def onboarding(db, csm, cs_manager):
    return QueueFactory(name="Onboarding", members=[csm], manager=cs_manager)


@pytest.mark.django_db
def test_a_call_needs_an_outcome(csm, onboarding):
    call = TaskFactory(queue=onboarding, kind="call", assignee=csm)

    with pytest.raises(ValidationFailed) as refused:
        task_complete(task=call, actor=csm, notes="Talked to Jo")

    assert list(refused.value.errors) == ["outcome"]
    assert (
        "reached (Reached), no_answer (No answer), rescheduled (Rescheduled)"
        in (refused.value.errors["outcome"][0])
    )
    assert Task.objects.get(pk=call.pk).status == Task.Status.OPEN


@pytest.mark.django_db
def test_an_outcome_that_is_not_on_the_list_is_refused(csm, onboarding):
    call = TaskFactory(queue=onboarding, kind="check_in", assignee=csm)

    with pytest.raises(ValidationFailed) as refused:
        task_complete(task=call, actor=csm, outcome="great")

    assert refused.value.errors["outcome"][0].startswith("“great” is not an outcome")


@pytest.mark.django_db
def test_a_call_completed_with_its_outcome_and_notes(csm, onboarding):
    call = TaskFactory(queue=onboarding, kind="call", assignee=csm)

    task_complete(task=call, actor=csm, outcome="no_answer", notes="Voicemail left")

    call.refresh_from_db()
    assert (call.status, call.outcome, call.outcome_notes) == (
        "done",
        "no_answer",
        "Voicemail left",
    )
    assert (call.completed_by, call.completed_at is not None) == (csm, True)
    activity = TaskActivity.objects.get(task=call, kind="completed")
    assert activity.message == "No answer; Voicemail left"
    assert DomainEvent.objects.get(name="task.completed").payload == {
        "task_id": call.pk,
        "outcome": "no_answer",
    }


@pytest.mark.django_db
def test_a_general_task_needs_no_outcome(csm, onboarding):
    task = TaskFactory(queue=onboarding, assignee=csm)

    assert task_complete(task=task, actor=csm).status == Task.Status.DONE


@pytest.mark.django_db
def test_nobody_completes_a_colleagues_task_except_the_queues_overseers(
    csm, onboarding, cs_manager
):
    rita = UserFactory(username="rita", first_name="Rita", last_name="Jones", role="CSM")
    onboarding.members.add(rita)
    task = TaskFactory(queue=onboarding, assignee=rita)

    with pytest.raises(NotPermitted, match="assigned to Rita Jones"):
        task_complete(task=task, actor=csm)
    task_complete(task=task, actor=cs_manager)

    assert Task.objects.get(pk=task.pk).completed_by == cs_manager


@pytest.mark.django_db
def test_completing_a_task_twice_says_it_is_done(csm, onboarding):
    task = TaskFactory(queue=onboarding, assignee=csm)
    stale = Task.objects.get(pk=task.pk)
    task_complete(task=task, actor=csm)

    with pytest.raises(Conflict, match=r"completed by .* a moment ago"):
        task_complete(task=stale, actor=csm)
    with pytest.raises(Conflict, match="already done"):
        task_complete(task=Task.objects.get(pk=task.pk), actor=csm)
    assert DomainEvent.objects.filter(name="task.completed").count() == 1


@pytest.mark.django_db
def test_start_then_complete(csm, onboarding):
    task = TaskFactory(queue=onboarding)

    task_start(task=task, actor=csm)  # unassigned: claimed on start
    assert (task.status, task.assignee) == ("in_progress", csm)
    task_complete(task=task, actor=csm)

    assert list(TaskActivity.objects.filter(task=task).values_list("kind", flat=True)) == [
        "claimed",
        "started",
        "completed",
    ]


@pytest.mark.django_db
def test_skip_needs_a_reason_and_emits_task_skipped(csm, onboarding):
    task = TaskFactory(queue=onboarding, assignee=csm)

    with pytest.raises(ValidationFailed) as refused:
        task_skip(task=task, actor=csm, reason=" ")
    assert list(refused.value.errors) == ["reason"]
    task_skip(task=task, actor=csm, reason="The customer did it already")

    task.refresh_from_db()
    assert (task.status, task.skipped_reason) == ("skipped", "The customer did it already")
    assert DomainEvent.objects.get(name="task.skipped").payload["reason"] == (
        "The customer did it already"
    )


@pytest.mark.django_db
def test_cancel_is_recorded_and_a_finished_task_is_left_alone(csm, onboarding):
    task = TaskFactory(queue=onboarding, assignee=csm)

    assert task_cancel(task=task, reason="Deal reopened", actor=csm) is True
    assert task_cancel(task=task, reason="Again", actor=csm) is False

    assert TaskActivity.objects.get(task=task, kind="cancelled").message == "Deal reopened"
    assert DomainEvent.objects.filter(name="task.cancelled").count() == 1


@pytest.mark.django_db
def test_completing_the_kickoff_task_resumes_the_waiting_step(rep, csm):
    wait = {
        "key": "onboarding_done",
        "name": "Onboarding complete?",
        "kind": "wait",
        "delay_days": 14,
        "config": {"until_event": "task.completed", "for_step": "kickoff"},
    }
    onboarding_playbook(extra_steps=[wait])
    enrollment = win_and_process(closable_deal(account=AccountFactory(csm=csm)), rep)
    step_run_execute(step_run_id=enrollment.step_runs.get(step_key="kickoff").pk)
    kickoff = Task.objects.get()
    assert kickoff.assignee == csm  # the account's CSM

    task_complete(task=kickoff, actor=csm, outcome="reached", notes="Kickoff booked")
    event = DomainEvent.objects.get(name="task.completed")
    assert event.payload == {
        "task_id": kickoff.pk,
        "outcome": "reached",
        "enrollment_id": enrollment.pk,
        "step_key": "kickoff",
    }
    event_process(event_id=event.pk)

    waiting = enrollment.step_runs.get(step_key="onboarding_done")
    assert (waiting.state, waiting.result["outcome"]) == (StepRun.State.DONE, "event")


@pytest.mark.django_db(transaction=True)
def test_two_people_completing_at_once_one_wins_and_the_other_is_told(cs_manager):
    require_postgres()
    carla = UserFactory(username="carla", first_name="Carla", last_name="Diaz", role="CSM")
    queue = QueueFactory(name="Onboarding", members=[carla], manager=cs_manager)
    task = TaskFactory(queue=queue, assignee=carla)
    barrier = threading.Barrier(2)
    outcomes: dict[str, str] = {}

    def complete(person) -> None:
        try:
            mine = Task.objects.get(pk=task.pk)
            barrier.wait(5)
            task_complete(task=mine, actor=person, notes=f"by {person.username}")
            outcomes[person.username] = "done"
        except Conflict as exc:
            outcomes[person.username] = exc.message
        finally:
            connection.close()

    threads = [threading.Thread(target=complete, args=(p,)) for p in (carla, cs_manager)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    task.refresh_from_db()
    winner = task.completed_by
    loser = cs_manager if winner == carla else carla
    assert outcomes[winner.username] == "done"
    assert task.outcome_notes == f"by {winner.username}"
    assert outcomes[loser.username] == (
        f"This task was completed by {winner.get_full_name()} a moment ago; nothing was changed."
    )
    assert DomainEvent.objects.filter(name="task.completed").count() == 1
    assert TaskActivity.objects.filter(task=task, kind="completed").count() == 1
