"""The playbook ``task`` step: its assignment rule and SLA reach the task it creates."""

import datetime as dt

import pytest

from apps.core import clock
from apps.engine.execution import step_run_execute
from apps.queues.models import Queue, Task
from tests.engine.test_walking_skeleton import win_and_process
from tests.factories import (
    AccountFactory,
    ProfileFactory,
    QueueFactory,
    UserFactory,
    closable_deal,
    onboarding_playbook,
)

pytestmark = pytest.mark.django_db

MONDAY_9_UTC = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)


def handoff_step(**config):
    return {
        "key": "handoff",
        "name": "Hand-off",
        "kind": "task",
        "config": {"queue": "handoffs", "title": "Hand-off for {{ account.name }}", **config},
    }


def run_first_steps(rep, account, extra_steps):
    onboarding_playbook(extra_steps=extra_steps)
    enrollment = win_and_process(closable_deal(account=account), rep)
    for run in enrollment.step_runs.order_by("pk"):
        step_run_execute(step_run_id=run.pk)
    return enrollment


def test_round_robin_with_a_per_step_sla(rep):
    anna = UserFactory(username="anna", first_name="Anna", last_name="", role="CSM")
    QueueFactory(name="Handoffs", members=[anna], timezone="UTC", country="GB")

    with clock.frozen(MONDAY_9_UTC):
        run_first_steps(
            rep,
            AccountFactory(name="Globex"),
            [handoff_step(assign_to="round_robin", sla_hours=10)],
        )

    task = Task.objects.get(queue__slug="handoffs")
    assert task.assignee == anna
    assert task.assignment_reason == "Round-robin in Handoffs: Anna's turn."
    assert task.sla_due_at == dt.datetime(2026, 11, 24, 11, 0, tzinfo=dt.UTC)  # 8h + 2h


def test_a_named_person_who_is_away_hands_the_step_to_their_backup(rep):
    anna = UserFactory(username="anna", first_name="Anna", last_name="", role="CSM")
    ben = UserFactory(username="ben", first_name="Ben", last_name="", role="CSM")
    ProfileFactory(user=anna, out_of_office_from=dt.date(2026, 11, 1), backup=ben)
    QueueFactory(name="Handoffs", members=[anna, ben])

    with clock.frozen(MONDAY_9_UTC):
        run_first_steps(rep, AccountFactory(), [handoff_step(assign_to="user:anna")])

    task = Task.objects.get(queue__slug="handoffs")
    assert task.assignee == ben
    assert task.assignment_reason == "Anna is out of office; given to their backup Ben."


def test_queue_means_the_queues_own_rule(rep):
    anna = UserFactory(username="anna", first_name="Anna", last_name="", role="CSM")
    QueueFactory(
        name="Handoffs", members=[anna], assignment_strategy=Queue.Strategy.LEAST_OPEN, sla_hours=2
    )

    with clock.frozen(MONDAY_9_UTC):
        run_first_steps(rep, AccountFactory(), [handoff_step(assign_to="queue")])

    task = Task.objects.get(queue__slug="handoffs")
    assert task.assignee == anna
    assert task.sla_due_at == dt.datetime(2026, 11, 23, 11, 0, tzinfo=dt.UTC)
