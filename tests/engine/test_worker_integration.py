"""End to end with real processes: PostgreSQL, a private Redis and a Celery worker."""

import pytest
from rest_framework.test import APIClient

from apps.core.models import DomainEvent
from apps.core.tasks import sweep_events
from apps.engine.models import Enrollment
from apps.queues.models import Task
from tests.factories import (
    AccountFactory,
    UserFactory,
    WinReasonFactory,
    closable_deal,
    onboarding_playbook,
)
from tests.services import (
    app_broker,
    celery_worker,
    redis_server,
    require_postgres,
    wait_until,
)

pytestmark = pytest.mark.django_db(transaction=True)


def close_through_api(deal, user):
    client = APIClient()
    client.force_authenticate(user)
    return client.post(
        f"/api/deals/{deal.pk}/transitions/close_won/",
        {"win_reason": WinReasonFactory().pk, "win_notes": "Chose us over the incumbent."},
        format="json",
    )


def wait_ready(worker) -> None:
    assert wait_until(lambda: "ready." in worker.output(), timeout=30), worker.output()


def test_close_through_api_puts_one_onboarding_task_in_the_queue_within_5s(rep):
    require_postgres()
    csm_user = UserFactory(username="cleo", role="CSM")
    onboarding_playbook()
    deal = closable_deal(account=AccountFactory(csm=csm_user), owner=rep)

    with redis_server() as redis, app_broker(redis.url), celery_worker(redis.url) as worker:
        wait_ready(worker)
        response = close_through_api(deal, rep)
        assert response.status_code == 200, response.content

        task = wait_until(lambda: Task.objects.filter(deal=deal).first(), timeout=5)
        assert task is not None, worker.output()
        assert (task.queue.slug, task.assignee_id) == ("onboarding", csm_user.pk)
        # The worker that enrolled the deal ran the due step itself: no second message.
        assert "engine.run_steps[" not in worker.output()

    assert Task.objects.filter(deal=deal).count() == 1
    assert Enrollment.objects.filter(deal=deal).count() == 1


def test_message_lost_while_broker_down_is_swept_exactly_once(rep):
    require_postgres()
    onboarding_playbook()
    deal = closable_deal(owner=rep)

    with redis_server() as redis, app_broker(redis.url):
        redis.stop()  # the broker is down at commit time
        response = close_through_api(deal, rep)
        assert response.status_code == 200, response.content
        assert DomainEvent.objects.get(name="deal.closed_won").processed_at is None

        redis.start()
        # No grace period, so the sweep takes the event at once.
        env = {"OUTBOX_SWEEP_GRACE_SECONDS": "0"}
        with celery_worker(redis.url, extra_env=env) as worker:
            wait_ready(worker)
            # The sweep runs twice, as beat would run it.
            sweep_events.delay()
            sweep_events.delay()
            task = wait_until(lambda: Task.objects.filter(deal=deal).first(), timeout=20)
            assert task is not None, worker.output()

    assert Enrollment.objects.filter(deal=deal).count() == 1
    assert Task.objects.filter(deal=deal).count() == 1
