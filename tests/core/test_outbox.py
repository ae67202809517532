import datetime as dt
import logging

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from apps.core import clock, outbox
from apps.core.events import EventSpec, event_process, events_emit_many, events_sweep
from apps.core.models import DomainEvent
from apps.engine.execution import step_run_execute
from apps.engine.models import Enrollment
from apps.queues.models import Task
from tests.deals.test_close_won import close_won
from tests.factories import AccountFactory, UserFactory, closable_deal, onboarding_playbook
from tests.services import app_broker, free_port, require_postgres

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


def test_a_round_runs_only_the_drainers_whose_work_was_made_due(monkeypatch):
    calls = []

    def drainer(name, results):
        """Returns its counts in turn; a count of ("steps", 1) marks that drainer due."""

        def run():
            calls.append(name)
            count, makes_due = results.pop(0) if results else (0, None)
            if makes_due:
                outbox.wake_after_commit(drainer=makes_due)
            return count

        return run

    # A close's event enrolls (its steps due), the steps raise events, whose handlers make
    # nothing due: after the first round only the drainer with new work runs again.
    events = drainer("events", [(1, "steps"), (3, None)])
    steps = drainer("steps", [(1, "events")])
    monkeypatch.setattr(outbox, "_drainers", [("events", events), ("steps", steps)])

    assert outbox.drain() == {"events": 4, "steps": 1}
    assert calls == ["events", "steps", "events"]

    # Nothing due: one claim each, no second round.
    calls.clear()
    assert outbox.drain() == {"events": 0, "steps": 0}
    assert calls == ["events", "steps"]


def test_a_drainer_that_did_a_backlogs_worth_runs_again(monkeypatch):
    calls = []

    def busy():
        calls.append("busy")
        return outbox.HELP_AFTER if len(calls) == 1 else 0

    monkeypatch.setattr(outbox, "_drainers", [("busy", busy)])
    monkeypatch.setattr(outbox, "_wake", lambda: calls.append("wake"))

    assert outbox.drain() == {"busy": outbox.HELP_AFTER}
    assert calls == ["busy", "wake", "busy"]  # another worker asked to help, then it looks again


@pytest.mark.django_db(transaction=True)
def test_a_drain_analyzes_a_work_table_whose_statistics_fell_behind(monkeypatch):
    require_postgres()
    with connection.cursor() as cursor:  # every work table fresh, whatever ran before
        for table in sorted(outbox._work_tables):
            cursor.execute(f"ANALYZE {table}")
    events_emit_many(
        events=[
            EventSpec(name="bench.nobody_listens", aggregate_type="account", aggregate_id=n)
            for n in range(outbox.STALE_ROWS + 200)
        ]
    )
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_force_next_flush()")  # as the session goes idle

    assert outbox.work_tables_analyze_stale() == ["core_domainevent"]
    assert outbox.work_tables_analyze_stale() == []  # fresh now


@pytest.mark.django_db(transaction=True)
def test_a_drains_batches_commit_without_waiting_for_the_disk_and_a_callers_do(rep):
    require_postgres()
    onboarding_playbook()
    close_won(closable_deal(account=AccountFactory(csm=UserFactory(role="CSM"))), actor=rep)

    with CaptureQueriesContext(connection) as drained:
        assert outbox.drain()["steps"] == 1
    unflushed = [q for q in drained if q["sql"] == "SET LOCAL synchronous_commit TO OFF"]
    assert len(unflushed) >= 2  # the events' batch and the steps' batch

    # Inside a caller's transaction, the caller's commit keeps its durability.
    with (
        transaction.atomic(),
        CaptureQueriesContext(connection) as inside,
        outbox.commit_without_flush(),
    ):
        pass
    assert not [q for q in inside if "synchronous_commit" in q["sql"]]


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
