"""Claiming a task from the queue: one owner, even when two people click at once."""

import threading

import pytest
from django.db import connection

from apps.core.errors import Conflict, NotPermitted
from apps.core.models import DomainEvent
from apps.queues.models import Task, TaskActivity
from apps.queues.services import task_claim
from tests.factories import QueueFactory, TaskFactory, UserFactory
from tests.services import require_postgres


@pytest.fixture
def team(db, csm):
    rita = UserFactory(username="rita", first_name="Rita", last_name="Jones", role="CSM")
    onboarding = QueueFactory(name="Onboarding", members=[csm, rita])
    return onboarding, rita


@pytest.mark.django_db
def test_a_member_claims_an_unassigned_task_and_the_claim_is_recorded(csm, team):
    onboarding, _ = team
    task = TaskFactory(queue=onboarding)

    task_claim(task=task, actor=csm)

    task.refresh_from_db()
    assert task.assignee == csm
    assert task.assignment_reason.startswith("Claimed by")
    activity = TaskActivity.objects.get(task=task)
    assert (activity.kind, activity.actor) == (TaskActivity.Kind.CLAIMED, csm)
    assert DomainEvent.objects.filter(name="task.claimed", aggregate_id=task.pk).exists()


@pytest.mark.django_db
def test_claiming_a_task_someone_already_holds_names_them(csm, team):
    onboarding, rita = team
    task = TaskFactory(queue=onboarding, assignee=rita)

    with pytest.raises(Conflict, match="already claimed by Rita Jones"):
        task_claim(task=task, actor=csm)
    assert Task.objects.get(pk=task.pk).assignee == rita


@pytest.mark.django_db
def test_claiming_with_a_stale_copy_loses_to_the_earlier_claim(csm, team):
    onboarding, rita = team
    task = TaskFactory(queue=onboarding)
    carlas_copy = Task.objects.get(pk=task.pk)  # loaded while still unassigned
    task_claim(task=task, actor=rita)

    with pytest.raises(Conflict, match="already claimed by Rita Jones"):
        task_claim(task=carlas_copy, actor=csm)
    assert Task.objects.get(pk=task.pk).assignee == rita


@pytest.mark.django_db
def test_claiming_your_own_task_again_changes_nothing(csm, team):
    onboarding, _ = team
    task = task_claim(task=TaskFactory(queue=onboarding), actor=csm)

    assert task_claim(task=Task.objects.get(pk=task.pk), actor=csm).assignee == csm
    assert TaskActivity.objects.filter(task=task, kind="claimed").count() == 1


@pytest.mark.django_db
def test_only_members_of_the_queue_can_claim(rep, team):
    onboarding, _ = team
    outsider_csm = UserFactory(username="olga", role="CSM")
    task = TaskFactory(queue=onboarding)

    for person in (rep, outsider_csm):
        with pytest.raises(NotPermitted, match="Only members of Onboarding"):
            task_claim(task=task, actor=person)
    assert Task.objects.get(pk=task.pk).assignee is None


@pytest.mark.django_db
def test_a_finished_task_cannot_be_claimed(csm, team):
    onboarding, _ = team
    task = TaskFactory(queue=onboarding)
    Task.objects.filter(pk=task.pk).update(status=Task.Status.CANCELLED)

    with pytest.raises(Conflict, match="already cancelled"):
        task_claim(task=Task.objects.get(pk=task.pk), actor=csm)


@pytest.mark.django_db(transaction=True)
def test_two_people_claiming_at_the_same_moment_one_owner_one_clear_conflict(csm):
    require_postgres()
    rita = UserFactory(username="rita", first_name="Rita", last_name="Jones", role="CSM")
    carla = csm
    onboarding = QueueFactory(name="Onboarding", members=[carla, rita])
    task = TaskFactory(queue=onboarding)
    barrier = threading.Barrier(2)
    outcomes: dict[str, str] = {}

    def claim(person) -> None:
        try:
            mine = Task.objects.get(pk=task.pk)  # both see it unassigned
            barrier.wait(5)
            task_claim(task=mine, actor=person)
            outcomes[person.username] = "claimed"
        except Conflict as exc:
            outcomes[person.username] = exc.message
        finally:
            connection.close()

    threads = [threading.Thread(target=claim, args=(p,)) for p in (carla, rita)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    task.refresh_from_db()
    winner = task.assignee
    loser = rita if winner == carla else carla
    assert outcomes[winner.username] == "claimed"
    assert outcomes[loser.username].startswith("This task is already claimed by")
    assert _name_of(winner) in outcomes[loser.username]
    assert TaskActivity.objects.filter(task=task, kind="claimed").count() == 1
    assert DomainEvent.objects.filter(name="task.claimed").count() == 1


def _name_of(user) -> str:
    return user.get_full_name() or user.username
