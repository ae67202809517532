"""The enrollment lock is the fence: a deal reopened while its steps sit in a claimed
batch ends with nothing open that the cancellation did not withdraw. Real PostgreSQL row
locks, two connections (threads)."""

import threading

import pytest
from django.db import connection

from apps.core.events import events_drain
from apps.deals import services as deal_services
from apps.deals.models import Deal
from apps.engine.execution import steps_execute_due
from apps.engine.models import Enrollment, StepRun
from apps.queues import step_kinds as task_kind
from apps.queues.models import Task
from tests.deals.test_close_won import close_won
from tests.factories import closable_deal, onboarding_playbook
from tests.services import require_postgres

pytestmark = pytest.mark.django_db(transaction=True)


def in_thread(target, errors):
    def run():
        try:
            target()
        except Exception as exc:  # surfaced by the test
            errors.append(exc)
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def test_a_reopen_during_a_batch_withdraws_what_the_batch_created(rep, admin_user, monkeypatch):
    require_postgres()
    onboarding_playbook()
    deal = closable_deal()
    close_won(deal, actor=rep)
    events_drain()
    in_batch, release, errors = threading.Event(), threading.Event(), []
    create = task_kind.tasks_create_for_steps

    def held_open(**kwargs):
        tasks = create(**kwargs)
        in_batch.set()
        release.wait(10)  # the batch holds its locks here, uncommitted
        return tasks

    monkeypatch.setattr(task_kind, "tasks_create_for_steps", held_open)
    batch = in_thread(lambda: steps_execute_due(limit=10), errors)
    assert in_batch.wait(10)

    def reopen():
        deal_services.deal_reopen(
            deal=Deal.objects.get(pk=deal.pk), actor=admin_user, source="admin", reason="Re-quote"
        )
        events_drain()  # the cancel waits for the batch's enrollment lock

    cancel = in_thread(reopen, errors)
    cancel.join(1)
    assert cancel.is_alive()  # blocked behind the batch
    release.set()
    batch.join(10)
    cancel.join(10)

    assert errors == []
    assert Enrollment.objects.get().state == Enrollment.State.CANCELLED
    assert StepRun.objects.get().state == StepRun.State.DONE
    assert Task.objects.get().status == Task.Status.CANCELLED


def test_a_batch_after_the_reopen_creates_nothing(rep, admin_user):
    require_postgres()
    onboarding_playbook()
    deal = closable_deal()
    close_won(deal, actor=rep)
    events_drain()
    deal_services.deal_reopen(
        deal=Deal.objects.get(pk=deal.pk), actor=admin_user, source="admin", reason="Re-quote"
    )
    events_drain()

    assert steps_execute_due(limit=10).executed == 0
    assert not Task.objects.exists()
    assert StepRun.objects.get().state == StepRun.State.CANCELLED
