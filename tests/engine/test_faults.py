"""Nothing lost, nothing doubled: a killed worker and a flushed broker end with every
due step done exactly once. Each test owns its redis-server and worker processes."""

import time

import pytest
from django.db.models import Count

from apps.core.models import DomainEvent
from apps.engine.models import StepRun
from apps.queues.models import Task
from config.celery import app as celery_app
from tests.deals.test_close_won import close_won
from tests.factories import closable_deal, onboarding_playbook
from tests.services import app_broker, celery_worker, redis_server, require_postgres, wait_until

pytestmark = pytest.mark.django_db(transaction=True)
DEALS = 40
FAST = {"OUTBOX_SWEEP_GRACE_SECONDS": "0"}


def beat_until_done(expected_tasks: int, timeout: float) -> bool:
    """What celery beat does, from this process: send the workers a drain every second
    (they process the events a lost message left behind, and run the due steps)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        celery_app.send_task("core.drain")
        if (
            Task.objects.count() >= expected_tasks
            and not StepRun.objects.exclude(state=StepRun.State.DONE).exists()
        ):
            return True
        time.sleep(0.5)
    return False


def assert_each_step_done_once():
    assert Task.objects.count() == DEALS
    assert not Task.objects.values("deal").annotate(n=Count("id")).filter(n__gt=1).exists()
    assert StepRun.objects.filter(state=StepRun.State.DONE).count() == DEALS
    assert not DomainEvent.objects.filter(
        name="deal.closed_won", processed_at__isnull=True
    ).exists()


def test_killed_worker_and_flushed_redis_lose_nothing_and_double_nothing(rep, settings):
    require_postgres()
    settings.OUTBOX_SWEEP_GRACE_SECONDS = 0
    onboarding_playbook()
    deals = [closable_deal() for _ in range(DEALS)]

    with redis_server() as redis, app_broker(redis.url):
        with celery_worker(redis.url, concurrency=2, extra_env=FAST) as worker:
            assert wait_until(lambda: "ready." in worker.output(), timeout=30), worker.output()
            for deal in deals:
                close_won(deal, actor=rep)
            wait_until(lambda: Task.objects.count() >= 5, timeout=10)
            worker.kill()  # SIGKILL to the worker and its pool: work in flight dies
        redis.flush()  # whatever the killed worker had in the broker is gone too

        with celery_worker(redis.url, concurrency=2, extra_env=FAST, name="second") as worker:
            assert wait_until(lambda: "ready." in worker.output(), timeout=30), worker.output()
            assert beat_until_done(DEALS, timeout=60), worker.output()

    assert_each_step_done_once()


def test_redis_restart_with_messages_in_flight_loses_nothing(rep, settings):
    require_postgres()
    settings.OUTBOX_SWEEP_GRACE_SECONDS = 0
    onboarding_playbook()
    deals = [closable_deal() for _ in range(DEALS)]

    with redis_server() as redis, app_broker(redis.url):
        for deal in deals:  # no worker yet: the messages wait in Redis…
            close_won(deal, actor=rep)
        redis.stop()  # …and die with it (no persistence)
        redis.start()
        with celery_worker(redis.url, concurrency=2, extra_env=FAST) as worker:
            assert wait_until(lambda: "ready." in worker.output(), timeout=30), worker.output()
            assert beat_until_done(DEALS, timeout=60), worker.output()

    assert_each_step_done_once()
