"""Closed-won → enrollment → step runs → onboarding task, in-process."""

import datetime as dt

import pytest

from apps.core import clock
from apps.core.events import event_process
from apps.core.models import DomainEvent
from apps.deals import services as deal_services
from apps.engine.execution import step_run_execute, step_runs_due_ids, steps_drain
from apps.engine.models import Enrollment, StepRun
from apps.queues.models import Task
from tests.deals.test_close_won import close_won
from tests.factories import AccountFactory, UserFactory, closable_deal, onboarding_playbook

pytestmark = pytest.mark.django_db

CHECKIN = {
    "key": "checkin",
    "name": "Day 7 check-in",
    "kind": "task",
    "config": {"queue": "onboarding", "title": "Check in with {{ account.name }}"},
    "start": "after_step",
    "after_step": "kickoff",
    "delay_days": 7,
}


def win_and_process(deal, actor):
    close_won(deal, actor=actor)
    event = DomainEvent.objects.get(name="deal.closed_won", aggregate_id=deal.pk)
    assert event_process(event_id=event.pk)
    return Enrollment.objects.get(deal=deal)


def test_closed_won_puts_kickoff_task_in_onboarding_queue_for_the_csm(rep):
    csm_user = UserFactory(username="cleo", role="CSM")
    onboarding_playbook()
    deal = closable_deal(account=AccountFactory(name="Globex", csm=csm_user), owner=rep)

    enrollment = win_and_process(deal, rep)
    kickoff = enrollment.step_runs.get(step_key="kickoff")
    # Due now, ahead of older scheduled work; a wake-up after commit drains it at once.
    assert (kickoff.state, kickoff.priority) == (StepRun.State.PENDING, StepRun.Priority.FIRST)
    assert kickoff.due_at <= clock.now()
    assert step_run_execute(step_run_id=kickoff.pk) == "done"

    task = Task.objects.get(deal=deal)
    assert task.title == "Kickoff call with Globex"
    assert (task.queue.slug, task.assignee, task.priority) == ("onboarding", csm_user, 2)
    assert task.step_run == kickoff
    assert "CSM" in task.assignment_reason


def test_duplicate_delivery_creates_one_task(rep):
    onboarding_playbook()
    deal = closable_deal()
    enrollment = win_and_process(deal, rep)
    kickoff = enrollment.step_runs.get(step_key="kickoff")

    assert step_run_execute(step_run_id=kickoff.pk) == "done"
    assert step_run_execute(step_run_id=kickoff.pk).startswith("skipped")
    assert Task.objects.filter(deal=deal).count() == 1


def test_enrollment_pins_the_version_and_ignores_drafts_and_other_triggers(rep):
    playbook = onboarding_playbook()
    version = playbook.current_version
    playbook.steps.update(name="Edited in the draft")

    enrollment = win_and_process(closable_deal(), rep)

    assert enrollment.version == version
    assert enrollment.version.steps[0]["name"] == "Kickoff call"


def test_later_step_waits_in_the_database_until_due(rep):
    onboarding_playbook(extra_steps=[CHECKIN])
    deal = closable_deal()
    enrollment = win_and_process(deal, rep)
    step_run_execute(step_run_id=enrollment.step_runs.get(step_key="kickoff").pk)

    checkin = enrollment.step_runs.get(step_key="checkin")
    assert checkin.state == StepRun.State.PENDING
    assert checkin.due_at - clock.now() > dt.timedelta(days=6, hours=23)
    assert step_runs_due_ids(limit=10) == []  # not due yet

    with clock.frozen(checkin.due_at + dt.timedelta(seconds=1)):
        assert steps_drain() == 1
        assert steps_drain() == 0  # a second drain finds nothing twice
        assert step_run_execute(step_run_id=checkin.pk) == "skipped: already done"
    assert Task.objects.filter(deal=deal).count() == 2
    enrollment.refresh_from_db()
    assert enrollment.state == Enrollment.State.COMPLETED


def test_a_run_left_running_by_a_dead_worker_is_taken_when_its_lease_expires(rep):
    onboarding_playbook()
    enrollment = win_and_process(closable_deal(), rep)
    kickoff = enrollment.step_runs.get(step_key="kickoff")
    lease_until = clock.now() + dt.timedelta(minutes=5)
    StepRun.objects.filter(pk=kickoff.pk).update(
        state=StepRun.State.RUNNING, lease_until=lease_until
    )

    assert steps_drain() == 0  # still leased
    with clock.frozen(lease_until + dt.timedelta(seconds=1)):
        assert steps_drain() == 1
    kickoff.refresh_from_db()
    assert kickoff.state == StepRun.State.DONE
    assert Task.objects.filter(step_run=kickoff).count() == 1


def test_failures_back_off_then_die(rep, settings, monkeypatch):
    from apps.queues import step_kinds as task_kind

    settings.ENGINE_MAX_ATTEMPTS = 2
    onboarding_playbook()
    enrollment = win_and_process(closable_deal(), rep)
    kickoff = enrollment.step_runs.get(step_key="kickoff")

    def boom(**kwargs):
        raise RuntimeError("queue service unavailable")

    monkeypatch.setattr(task_kind, "tasks_create_for_steps", boom)
    assert step_run_execute(step_run_id=kickoff.pk) == StepRun.State.FAILED
    kickoff.refresh_from_db()
    assert kickoff.due_at > clock.now() and "queue service unavailable" in kickoff.last_error

    assert step_runs_due_ids(limit=10) == []  # waiting for its retry
    with clock.frozen(kickoff.due_at + dt.timedelta(seconds=1)):
        assert step_runs_due_ids(limit=10) == [kickoff.pk]
        assert step_run_execute(step_run_id=kickoff.pk) == StepRun.State.DEAD
    assert not Task.objects.exists()


def test_reopen_cancels_enrollment_pending_steps_and_open_tasks(rep, admin_user):
    onboarding_playbook(extra_steps=[CHECKIN])
    deal = closable_deal()
    enrollment = win_and_process(deal, rep)
    step_run_execute(step_run_id=enrollment.step_runs.get(step_key="kickoff").pk)

    deal_services.deal_reopen(
        deal=deal.__class__.objects.get(pk=deal.pk),
        actor=admin_user,
        source="admin",
        reason="Customer asked for a new quote",
    )
    event_process(event_id=DomainEvent.objects.get(name="deal.reopened").pk)

    enrollment.refresh_from_db()
    assert enrollment.state == Enrollment.State.CANCELLED
    assert enrollment.step_runs.get(step_key="checkin").state == StepRun.State.CANCELLED
    task = Task.objects.get(deal=deal)
    assert task.status == Task.Status.CANCELLED
    assert "reopened" in task.cancelled_reason


def test_step_claimed_before_cancellation_writes_nothing(rep):
    onboarding_playbook()
    deal = closable_deal()
    enrollment = win_and_process(deal, rep)
    kickoff = enrollment.step_runs.get(step_key="kickoff")  # claimed, in a worker's hands
    from apps.engine.services import enrollment_cancel

    enrollment_cancel(enrollment=enrollment, reason="Deal lost")

    assert step_run_execute(step_run_id=kickoff.pk).startswith("skipped")
    assert not Task.objects.exists()


def test_playbook_filters_choose_which_deals_enroll(rep):
    playbook = onboarding_playbook()
    playbook.filters = {"account_tiers": ["enterprise"]}
    playbook.save()
    from apps.playbooks.services import playbook_publish

    playbook_publish(playbook=playbook, actor=None)
    smb = closable_deal(account=AccountFactory(tier="smb"))
    enterprise = closable_deal(account=AccountFactory(tier="enterprise"))

    close_won(smb, actor=rep)
    close_won(enterprise, actor=rep)
    for event in DomainEvent.objects.filter(name="deal.closed_won"):
        event_process(event_id=event.pk)

    assert list(Enrollment.objects.values_list("deal_id", flat=True)) == [enterprise.pk]


def test_reopen_after_the_playbook_completed_still_cancels_its_open_task(rep, admin_user):
    onboarding_playbook()  # one step: the enrollment completes once the task exists
    deal = closable_deal()
    enrollment = win_and_process(deal, rep)
    step_run_execute(step_run_id=enrollment.step_runs.get().pk)
    enrollment.refresh_from_db()
    assert enrollment.state == Enrollment.State.COMPLETED

    deal_services.deal_reopen(
        deal=deal.__class__.objects.get(pk=deal.pk),
        actor=admin_user,
        source="admin",
        reason="Contract not signed after all",
    )
    event_process(event_id=DomainEvent.objects.get(name="deal.reopened").pk)

    assert Task.objects.get(deal=deal).status == Task.Status.CANCELLED
    enrollment.refresh_from_db()
    assert enrollment.state == Enrollment.State.CANCELLED
