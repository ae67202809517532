import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from apps.core.models import DomainEvent
from apps.customers.models import Account
from apps.engine.models import BulkEnrollment, Enrollment, StepRun
from apps.playbooks.models import Playbook
from tests.factories import DealFactory
from tests.services import app_broker, redis_server, require_postgres, worker_env


@pytest.mark.django_db(transaction=True)
def test_bulk_enroll_bench_enrolls_through_a_real_worker_and_cleans_up(monkeypatch):
    require_postgres()
    with redis_server() as redis, app_broker(redis.url):
        # The bench's worker inherits this environment: the test database, this Redis.
        monkeypatch.setenv("DATABASE_URL", worker_env(redis.url)["DATABASE_URL"])
        out = StringIO()
        call_command("bulk_enroll_bench", "--accounts", "30", "--spread", "3", "--json", stdout=out)

    result = json.loads(out.getvalue())
    assert result["backend"] == "postgresql+redis"
    assert (result["accounts"], result["enrolled"], result["step_runs"]) == (30, 30, 60)
    assert (result["second_run_enrolled"], result["duplicate_enrollments"]) == (0, 0)
    assert result["run_s"] > 0 and result["accounts_per_s"] > 0
    assert not Account.objects.exists() and not Playbook.objects.exists()
    assert not Enrollment.objects.exists() and not StepRun.objects.exists()
    assert not BulkEnrollment.objects.exists()
    assert not DomainEvent.objects.filter(aggregate_type="enrollment").exists()


@pytest.mark.django_db
def test_bulk_enroll_bench_refuses_a_database_with_real_deals():
    DealFactory(name="Acme renewal")
    with pytest.raises(CommandError, match="dedicated database"):
        call_command("bulk_enroll_bench", "--accounts", "1")
