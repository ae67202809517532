import datetime as dt
import logging

import pytest
from django.db import connection

from apps.core import clock, outbox
from apps.core.events import event_process, events_sweep
from apps.core.models import DomainEvent
from apps.engine.execution import step_run_execute
from apps.engine.models import Enrollment
from apps.queues.models import Task
from tests.deals.test_close_won import close_won
from tests.factories import AccountFactory, UserFactory, closable_deal, onboarding_playbook
from tests.services import app_broker, free_port

pytestmark = pytest.mark.django_db


def later(seconds: int = 60) -> dt.datetime:
    return clock.now() + dt.timedelta(seconds=seconds)


def test_lost_message_is_swept_and_enrolls_exactly_once(
    rep, django_capture_on_commit_callbacks, caplog
):
    onboarding_playbook()
    deal = closable_deal()
    dead_broker = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there

    with (
        caplog.at_level(logging.WARNING, logger="apps.core.events"),
        app_broker(dead_broker),
        django_capture_on_commit_callbacks(execute=True),
    ):
        close_won(deal, actor=rep)  # the commit succeeds even though the send fails

    assert "the sweep will pick it up" in caplog.text
    event = DomainEvent.objects.get(name="deal.closed_won")
    assert event.processed_at is None
    assert not Enrollment.objects.exists()

    with clock.frozen(later()), django_capture_on_commit_callbacks(execute=False):
        assert events_sweep() >= 1
        events_sweep()  # what the first raised: the new customer's first health band
        assert events_sweep() == 0  # running the sweep again changes nothing

    enrollment = Enrollment.objects.get(deal=deal)
    assert enrollment.trigger_event == event
    run = enrollment.step_runs.get(step_key="kickoff")
    step_run_execute(step_run_id=run.pk)
    assert Task.objects.filter(deal=deal, queue__slug="onboarding").count() == 1


def test_an_event_processed_by_a_drain_is_not_processed_again_by_the_sweep(rep):
    onboarding_playbook()
    close_won(closable_deal(), actor=rep)

    # The win, and the account's move from prospect to onboarding; then the first health
    # band that move gave the new customer.
    assert events_sweep() == 2
    assert events_sweep() == 1
    assert events_sweep() == 0
    assert Enrollment.objects.count() == 1


def test_processing_twice_enrolls_once(rep):
    onboarding_playbook()
    deal = closable_deal()
    close_won(deal, actor=rep)
    event = DomainEvent.objects.get(name="deal.closed_won")

    assert event_process(event_id=event.pk) is True
    assert event_process(event_id=event.pk) is False

    assert Enrollment.objects.filter(deal=deal).count() == 1
    event.refresh_from_db()
    assert event.processed_at is not None


def test_failing_handler_rolls_back_and_is_retried_later(rep, monkeypatch):
    from apps.engine import services as engine_services

    onboarding_playbook()
    deal = closable_deal()
    close_won(deal, actor=rep)
    event = DomainEvent.objects.get(name="deal.closed_won")
    original = engine_services.Enrollment.objects.bulk_create

    def broken(*args, **kwargs):
        raise RuntimeError("database hiccup")

    monkeypatch.setattr(engine_services.Enrollment.objects, "bulk_create", broken)
    assert event_process(event_id=event.pk) is False
    event.refresh_from_db()
    assert event.processed_at is None
    assert event.attempts == 1 and "database hiccup" in event.last_error
    assert event.next_attempt_at > clock.now()

    monkeypatch.setattr(engine_services.Enrollment.objects, "bulk_create", original)
    with clock.frozen(later(3600)):
        assert events_sweep() == 2  # the win again, and the account's move to onboarding
    assert Enrollment.objects.filter(deal=deal).count() == 1


def wakes(callbacks) -> int:
    return sum(callback is outbox._wake for callback in callbacks)


def test_work_a_drain_makes_due_is_taken_by_its_next_round_without_a_wake_up(
    rep, django_capture_on_commit_callbacks
):
    onboarding_playbook()
    account = AccountFactory(csm=UserFactory(username="cleo", role="CSM"))
    with django_capture_on_commit_callbacks() as closing:
        close_won(closable_deal(account=account), actor=rep)
    assert wakes(closing) == 1  # the close asks a worker to drain
    connection.run_on_commit.clear()  # as its commit would: that wake-up was sent

    with django_capture_on_commit_callbacks() as draining:
        done = outbox.drain()

    # The close's event, the kickoff step it made due and the kickoff task's
    # ``task.created`` and ``task.assigned`` events were all taken by this drain, which
    # asked nobody else (and the account's move to onboarding, which the close raised
    # too, and the health band changes that followed).
    bands = DomainEvent.objects.filter(name="account.health_changed").count()
    assert bands >= 1  # the new customer's first band
    assert done == {"events": 4 + bands, "steps": 1}
    assert wakes(draining) == 0
    assert Task.objects.count() == 1
    assert not DomainEvent.objects.filter(processed_at__isnull=True).exists()


def test_batches_keep_each_deals_and_accounts_events_in_order():
    from apps.core.events import _runs_of_the_same_name

    def event(pk, name, deal=None, account=None):
        kind, aggregate = ("deal", deal) if deal else ("account", account)
        payload = {"deal_id": deal, "account_id": account}
        return DomainEvent(
            pk=pk, name=name, aggregate_type=kind, aggregate_id=aggregate, payload=payload
        )

    interleaved = [
        event(1, "deal.closed_won", deal=10, account=1),
        event(2, "account.lifecycle_changed", account=1),
        event(3, "deal.closed_won", deal=20, account=2),
        event(4, "account.lifecycle_changed", account=2),
    ]
    assert [[e.pk for e in g] for g in _runs_of_the_same_name(interleaved)] == [[1, 3], [2, 4]]
    reopened = [
        event(1, "deal.closed_won", deal=10, account=1),
        event(2, "deal.reopened", deal=10, account=1),
        event(3, "deal.closed_won", deal=10, account=1),
        event(4, "deal.closed_won", deal=30, account=3),
    ]
    assert [[e.pk for e in g] for g in _runs_of_the_same_name(reopened)] == [[1], [2], [3, 4]]
