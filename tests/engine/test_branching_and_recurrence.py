"""Conditions, recurring check-ins, waiting for a task, pause and resume."""

import datetime as dt
import zoneinfo

import pytest

from apps.core import clock
from apps.core.errors import Conflict
from apps.core.events import event_process
from apps.core.models import DomainEvent
from apps.engine.execution import step_run_execute, step_runs_due_ids, step_runs_execute
from apps.engine.models import Enrollment, StepRun
from apps.engine.services import enrollment_pause, enrollment_resume
from apps.queues.models import Task
from apps.queues.services import task_complete
from tests.engine.test_walking_skeleton import win_and_process
from tests.factories import closable_deal, onboarding_playbook

pytestmark = pytest.mark.django_db

TASK = {"queue": "onboarding", "title": "Follow up with {{ account.name }}"}


def run_due(until: dt.datetime) -> list[StepRun]:
    """Execute everything due up to ``until`` the way the dispatcher would."""
    with clock.frozen(until):
        ids = step_runs_due_ids(limit=1000)
        step_runs_execute(ids=ids)
        for event in DomainEvent.objects.filter(processed_at__isnull=True):
            event_process(event_id=event.pk)
    return list(StepRun.objects.filter(pk__in=ids).order_by("due_at", "id"))


def start(rep, extra_steps):
    onboarding_playbook(extra_steps=extra_steps)
    enrollment = win_and_process(closable_deal(), rep)
    step_runs_execute(ids=step_runs_due_ids(limit=100))  # due at enrollment
    return enrollment


def test_condition_skips_a_step_for_small_deals(rep):
    big_deal_only = {
        "key": "exec_intro",
        "name": "Executive intro",
        "kind": "task",
        "config": TASK,
        "conditions": [{"field": "deal.amount", "op": ">=", "value": 10000}],
    }
    enrollment = start(rep, [big_deal_only])  # the deal is 2,400

    run = enrollment.step_runs.get(step_key="exec_intro")
    assert run.state == StepRun.State.SKIPPED
    assert run.result == {"skipped": "conditions not met"}
    assert Task.objects.count() == 1  # only the kickoff


def test_check_ins_repeat_every_90_days_at_most_4_times(rep):
    qbr = {
        "key": "qbr",
        "name": "Quarterly review",
        "kind": "task",
        "config": TASK,
        "delay_days": 90,
        "repeat_every_days": 90,
        "repeat_max": 4,
    }
    enrollment = start(rep, [qbr])
    first_due = enrollment.step_runs.get(step_key="qbr").due_at

    for quarter in range(1, 6):
        run_due(first_due + dt.timedelta(days=90 * (quarter - 1), minutes=1))

    runs = enrollment.step_runs.filter(step_key="qbr").order_by("occurrence")
    assert [r.occurrence for r in runs] == [1, 2, 3, 4]
    assert all(r.state == StepRun.State.DONE for r in runs)
    # 90 days apart on the customer's calendar, at the same local time across DST.
    tz = zoneinfo.ZoneInfo(enrollment.account.timezone)
    local = [r.due_at.astimezone(tz) for r in runs]
    assert [(d.date() - local[0].date()).days for d in local] == [0, 90, 180, 270]
    assert len({d.time() for d in local}) == 1
    enrollment.refresh_from_db()
    assert enrollment.state == Enrollment.State.COMPLETED


WAIT = {
    "key": "onboarding_done",
    "name": "Onboarding complete?",
    "kind": "wait",
    "delay_days": 14,
    "config": {"until_event": "task.completed", "for_step": "kickoff"},
}
ESCALATE = {
    "key": "escalate",
    "name": "Escalate",
    "kind": "task",
    "config": {
        "queue": "onboarding",
        "title": "Onboarding still open: {{ account.name }}",
        "priority": 1,
    },
    "start": "after_step",
    "after_step": "onboarding_done",
    "conditions": [{"field": "steps.onboarding_done.outcome", "op": "==", "value": "timeout"}],
}


def test_wait_times_out_and_escalates_when_the_kickoff_task_stays_open(rep):
    enrollment = start(rep, [WAIT, ESCALATE])
    wait_due = enrollment.step_runs.get(step_key="onboarding_done").due_at

    run_due(wait_due + dt.timedelta(seconds=1))
    wait = enrollment.step_runs.get(step_key="onboarding_done")
    assert wait.result["outcome"] == "timeout"
    escalation = enrollment.step_runs.get(step_key="escalate")
    assert escalation.state == StepRun.State.PENDING  # due when the wait ended
    step_run_execute(step_run_id=escalation.pk)
    assert Task.objects.get(priority=1).title.startswith("Onboarding still open")


def test_completing_the_task_ends_the_wait_early_without_escalation(rep, csm):
    enrollment = start(rep, [WAIT, ESCALATE])
    task_complete(task=Task.objects.get(), actor=csm, outcome="reached")
    event_process(event_id=DomainEvent.objects.get(name="task.completed").pk)

    wait = enrollment.step_runs.get(step_key="onboarding_done")
    assert (wait.state, wait.result["outcome"]) == (StepRun.State.DONE, "event")
    escalation = enrollment.step_runs.get(step_key="escalate")
    assert escalation.state in (StepRun.State.PENDING, StepRun.State.SKIPPED)
    step_run_execute(step_run_id=escalation.pk)
    escalation.refresh_from_db()
    assert escalation.state == StepRun.State.SKIPPED
    assert not Task.objects.filter(priority=1).exists()


def test_paused_steps_do_not_run_and_resume_without_a_burst(rep, admin_user):
    checkin = {
        "key": "checkin",
        "name": "Check-in",
        "kind": "task",
        "config": TASK,
        "delay_days": 7,
    }
    enrollment = start(rep, [checkin])
    due = enrollment.step_runs.get(step_key="checkin").due_at

    paused_at = clock.now()
    resumed_at = due + dt.timedelta(days=3)  # the check-in fell due during the pause
    with clock.frozen(paused_at):
        enrollment_pause(enrollment=enrollment, actor=admin_user)
    assert run_due(resumed_at) == []  # paused: nothing runs

    with clock.frozen(resumed_at):
        enrollment_resume(enrollment=enrollment, actor=admin_user)
        assert step_runs_due_ids(limit=10) == []  # not fired in a burst on resume
    moved = enrollment.step_runs.get(step_key="checkin").due_at
    assert moved - due == resumed_at - paused_at  # the plan's spacing is kept
    with pytest.raises(Conflict):
        enrollment_resume(enrollment=enrollment, actor=admin_user)
