"""The enrollment's row lock fences a move against a step batch running at the same time.
Real PostgreSQL row locks, two connections (threads).

The new version adds a step after the kickoff. If the move read the enrollment while a
batch was executing the kickoff, it would see the kickoff still to run and leave the new
step to the engine, and the batch, which loaded the old version, would schedule nothing:
the step would be lost. The move waits for the batch instead, then sees the kickoff done
and schedules the new step from when it ran."""

import datetime as dt
import threading

import pytest
from django.db import connection

from apps.engine.execution import steps_execute_due
from apps.engine.models import Enrollment, EnrollmentMove, StepRun
from apps.engine.moves import enrollment_move_run, enrollment_move_start
from apps.engine.moves import services as move_services
from apps.queues import step_kinds as task_kind
from apps.queues.models import Task
from tests.engine.moves import HANDOVER, playbook_v1, publish
from tests.engine.test_batch_fence import in_thread
from tests.engine.test_walking_skeleton import win_and_process
from tests.factories import AccountFactory, closable_deal
from tests.services import require_postgres

pytestmark = pytest.mark.django_db(transaction=True)


def waiting_for_a_lock(pid: int) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", [pid])
        row = cursor.fetchone()
    return bool(row) and row[0] == "Lock"


def test_a_move_during_a_batch_waits_for_it_and_schedules_what_the_batch_made_due(
    rep, admin_user, monkeypatch
):
    require_postgres()
    playbook = playbook_v1()
    enrollment = win_and_process(closable_deal(account=AccountFactory(timezone="UTC")), rep)
    v2 = publish(playbook, [HANDOVER])
    move = enrollment_move_start(to_version=v2.pk, actor=admin_user)
    in_batch, release, errors, mover = threading.Event(), threading.Event(), [], {}
    create = task_kind.tasks_create_for_steps

    def held_open(**kwargs):
        tasks = create(**kwargs)
        in_batch.set()
        release.wait(10)  # the batch holds its claim and the enrollment lock here
        return tasks

    monkeypatch.setattr(task_kind, "tasks_create_for_steps", held_open)
    batch = in_thread(lambda: steps_execute_due(limit=10), errors)
    assert in_batch.wait(10)

    def run_the_move():
        mover["pid"] = connection.cursor().connection.info.backend_pid
        mover["state"] = enrollment_move_run(move_id=move.pk)

    moving = in_thread(run_the_move, errors)
    for _ in range(1000):  # until the move's connection waits on the batch's lock
        if "pid" in mover and waiting_for_a_lock(mover["pid"]):
            break
        moving.join(0.01)
    assert waiting_for_a_lock(mover["pid"])
    assert Enrollment.objects.get().version.number == 1  # not moved under the batch
    release.set()
    batch.join(10)
    moving.join(10)

    assert errors == [] and mover["state"] == "done"
    enrollment.refresh_from_db()
    assert enrollment.version == v2
    kickoff = enrollment.step_runs.get(step_key="kickoff")
    assert kickoff.state == StepRun.State.DONE and Task.objects.count() == 1
    handover = enrollment.step_runs.get(step_key="handover")
    assert handover.state == StepRun.State.PENDING
    assert handover.due_at == kickoff.finished_at + dt.timedelta(days=2)
    assert EnrollmentMove.objects.get().moved == 1


def test_a_batch_during_a_move_leaves_the_enrollment_to_the_next_batch(
    rep, admin_user, monkeypatch
):
    """The other order: while the move holds the enrollment, a batch skips it (it does
    not wait); the next batch runs the kickoff under the new version, which schedules
    the added step."""
    require_postgres()
    playbook = playbook_v1()
    enrollment = win_and_process(closable_deal(account=AccountFactory(timezone="UTC")), rep)
    v2 = publish(playbook, [HANDOVER])
    move = enrollment_move_start(to_version=v2.pk, actor=admin_user)
    planning, release, errors, outcome = threading.Event(), threading.Event(), [], {}
    plan = move_services.enrollment_plan

    def held_open(**kwargs):
        planned = plan(**kwargs)
        planning.set()
        release.wait(10)  # the move holds the enrollment's lock here, uncommitted
        return planned

    monkeypatch.setattr(move_services, "enrollment_plan", held_open)
    moving = in_thread(lambda: enrollment_move_run(move_id=move.pk), errors)
    assert planning.wait(10)
    batch = in_thread(lambda: outcome.update(batch=steps_execute_due(limit=10)), errors)
    batch.join(10)
    assert not batch.is_alive()  # it skipped the locked enrollment instead of waiting
    release.set()
    moving.join(10)

    assert errors == [] and outcome["batch"].executed == 0
    assert Enrollment.objects.get().version == v2
    assert not enrollment.step_runs.filter(step_key="handover").exists()
    assert steps_execute_due(limit=10).executed == 1  # the kickoff, under v2
    kickoff = enrollment.step_runs.get(step_key="kickoff")
    handover = enrollment.step_runs.get(step_key="handover")
    assert handover.due_at == kickoff.finished_at + dt.timedelta(days=2)
