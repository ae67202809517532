"""End to end with real processes: a Pipedrive delivery over HTTP, stored and
acknowledged, processed by a Celery worker on Redis and PostgreSQL, whose close starts
the onboarding playbook."""

import pytest

from apps.deals.models import Deal
from apps.integrations.models import InboundEvent
from apps.queues.models import Task
from tests.integrations.conftest import connect, fixture_json
from tests.integrations.test_pipedrive import deliver
from tests.services import app_broker, celery_worker, redis_server, require_postgres, wait_until

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_worker_processes_deliveries_after_commit_and_the_close_starts_the_playbook(
    client, world
):
    require_postgres()
    connect(
        "pipedrive",
        world,
        tenant_id="12882925",
        basic_auth_username="afterwin",
        secret="s3cret-passw0rd",
    )
    with redis_server() as redis, app_broker(redis.url), celery_worker(redis.url) as worker:
        assert wait_until(lambda: "ready." in worker.output(), timeout=30), worker.output()
        for name in ("pipedrive_v2_organization", "pipedrive_v2_person", "pipedrive_v2_deal_won"):
            assert deliver(client, fixture_json(f"{name}.json")).status_code == 200

        task = wait_until(lambda: Task.objects.filter(deal__isnull=False).first(), timeout=20)
        assert task is not None, worker.output()

    deal = Deal.objects.get()
    assert deal.stage == "closed_won" and task.deal == deal
    assert set(InboundEvent.objects.values_list("state", flat=True)) == {"processed"}
