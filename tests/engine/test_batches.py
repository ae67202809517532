"""Batched execution: many due steps in one transaction, with one statement per table;
a failing step fails alone; new enrollments' first steps go first."""

import datetime as dt

import pytest

from apps.core import clock
from apps.core.events import events_drain
from apps.engine.execution import step_runs_due_ids, steps_execute_due
from apps.engine.models import Enrollment, StepRun
from apps.queues.models import Queue, Task, TaskActivity
from tests.deals.test_close_won import close_won
from tests.factories import (
    AccountFactory,
    DealFactory,
    DealLineItemFactory,
    ProfileFactory,
    UserFactory,
    closable_deal,
    onboarding_playbook,
)

pytestmark = pytest.mark.django_db


def close_many(count: int, rep, **account_fields) -> list:
    deals = [closable_deal(account=AccountFactory(**account_fields)) for _ in range(count)]
    for deal in deals:
        close_won(deal, actor=rep)
    events_drain()
    return deals


def test_a_batch_runs_many_steps_with_a_fixed_number_of_statements(
    rep, django_assert_max_num_queries
):
    onboarding_playbook()
    close_many(3, rep)
    with django_assert_max_num_queries(30) as few:
        assert steps_execute_due(limit=100).executed == 3
    close_many(30, rep)

    with django_assert_max_num_queries(len(few.captured_queries)):
        assert steps_execute_due(limit=100).executed == 30

    assert Task.objects.count() == 33
    assert TaskActivity.objects.filter(kind=TaskActivity.Kind.CREATED).count() == 33
    assert not Enrollment.objects.exclude(state=Enrollment.State.COMPLETED).exists()


def test_a_step_that_fails_fails_alone_and_the_others_finish(rep):
    onboarding_playbook(
        extra_steps=[
            {
                "key": "broken",
                "name": "Broken",
                "kind": "task",
                "config": {"queue": "onboarding", "title": "Hello {{ account.name }}"},
            }
        ]
    )
    deals = close_many(3, rep)
    broken = StepRun.objects.filter(step_key="broken").order_by("id").first()
    # A step whose queue was deleted after publishing: its task cannot be made.
    Enrollment.objects.filter(pk=broken.enrollment_id).update(
        version=_version_with_queue(broken.enrollment.version, "gone")
    )

    result = steps_execute_due(limit=100)

    assert (result.executed, result.failed) == (5, 1)
    broken.refresh_from_db()
    assert broken.state == StepRun.State.FAILED
    assert "DoesNotExist" in broken.last_error
    assert Task.objects.count() == 2 * len(deals) - 1


def _version_with_queue(version, slug):
    from apps.playbooks.models import PlaybookVersion

    steps = [
        {**step, "config": {**step["config"], "queue": slug}} if step["key"] == "broken" else step
        for step in version.steps
    ]
    return PlaybookVersion.objects.create(
        playbook=version.playbook,
        number=version.number + 1,
        trigger=version.trigger,
        filters=version.filters,
        cancel_on=version.cancel_on,
        steps=steps,
    )


def test_capacity_counts_the_tasks_given_out_in_the_same_batch(rep):
    csm = UserFactory(username="busy", role="CSM")
    backup = UserFactory(username="backup", role="CSM")
    ProfileFactory(user=csm, capacity=2, backup=backup)
    onboarding_playbook()
    close_many(3, rep, csm=csm)

    steps_execute_due(limit=100)

    owners = sorted(Task.objects.values_list("assignee__username", flat=True))
    assert owners == ["backup", "busy", "busy"]
    given = Task.objects.get(assignee=backup)
    assert "at capacity (2 open tasks); given to their backup" in given.assignment_reason


def test_new_enrollments_first_steps_go_before_older_scheduled_work(rep):
    onboarding_playbook()
    [old] = close_many(1, rep)
    old_run = StepRun.objects.get(enrollment__deal=old)
    StepRun.objects.filter(pk=old_run.pk).update(
        priority=StepRun.Priority.SCHEDULED, due_at=clock.now() - dt.timedelta(days=1)
    )
    [new] = close_many(1, rep)

    [first, second] = step_runs_due_ids(limit=10)

    assert StepRun.objects.get(pk=first).enrollment.deal == new
    assert second == old_run.pk


def test_running_a_batch_twice_does_nothing_twice(rep):
    onboarding_playbook()
    close_many(4, rep)

    assert steps_execute_due(limit=100).executed == 4
    assert steps_execute_due(limit=100).executed == 0
    assert Task.objects.count() == 4
    assert Queue.objects.get(slug="onboarding").tasks.count() == 4


def test_a_batch_of_closes_enrolls_with_a_fixed_number_of_statements(
    rep, django_assert_max_num_queries
):
    from apps.core.events import events_process_due

    onboarding_playbook()
    # Each close raises two events: the win, and the account's move to onboarding.
    for deal in [closable_deal() for _ in range(3)]:
        close_won(deal, actor=rep)
    with django_assert_max_num_queries(40) as few:
        assert events_process_due(limit=100) == 6
    # The new customers' first health bands (account.health_changed, a trigger) follow.
    assert events_process_due(limit=100) == 3
    for deal in [closable_deal() for _ in range(30)]:
        close_won(deal, actor=rep)

    with django_assert_max_num_queries(len(few.captured_queries)):
        assert events_process_due(limit=100) == 60

    assert Enrollment.objects.count() == 33
    assert StepRun.objects.filter(priority=StepRun.Priority.FIRST).count() == 33
    assert events_process_due(limit=100) == 30
    assert events_process_due(limit=100) == 0


def test_a_cool_down_refuses_the_second_close_of_an_account_in_the_same_batch(rep):
    from apps.core.events import events_process_due

    playbook = onboarding_playbook()
    playbook.account_cooldown_days = 30
    playbook.save()
    from apps.playbooks.services import playbook_publish

    playbook_publish(playbook=playbook, actor=None)
    first = closable_deal()
    second = DealFactory(
        account=first.account,
        amount=first.amount,
        close_date=first.close_date,
        primary_contact=first.primary_contact,
    )
    DealLineItemFactory(deal=second)
    account = first.account
    for deal in (first, second):
        close_won(deal, actor=rep)

    events_process_due(limit=100)

    assert Enrollment.objects.filter(account=account).count() == 1


def test_a_run_whose_kind_is_no_longer_registered_fails_alone(rep):
    onboarding_playbook()
    close_many(2, rep)
    orphan = StepRun.objects.order_by("id").first()
    StepRun.objects.filter(pk=orphan.pk).update(kind="retired_kind")

    result = steps_execute_due(limit=100)

    assert (result.executed, result.failed) == (1, 1)
    orphan.refresh_from_db()
    assert orphan.state == StepRun.State.FAILED
    assert "Unknown step kind 'retired_kind'" in orphan.last_error


def test_every_handler_of_a_close_has_a_batch_form():
    """One handler without a batch form makes a batch of closes run one event at a time
    (the statement count above would grow with the batch): every app that subscribes to
    closed-won must give one."""
    from apps.core.events import _batch_forms, handlers_for

    handlers = handlers_for("deal.closed_won")
    assert len(handlers) >= 2  # the engine's enrollment, growth's attribution
    assert [h.__qualname__ for h in handlers if h not in _batch_forms] == []
