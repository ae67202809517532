import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from apps.deals.models import Deal
from apps.engine.models import StepRun
from tests.factories import DealFactory
from tests.services import app_broker, redis_server, require_postgres, worker_env

KEYS = {
    "backend",
    "deals",
    "steps",
    "enrollments_per_s",
    "steps_per_s",
    "first_task_p50_ms",
    "first_task_p99_ms",
    "tick_ms_10k",
    "tick_ms_1m",
    "worker_peak_rss_mb",
    "duplicate_effects",
}


@pytest.mark.django_db(transaction=True)
def test_engine_bench_runs_real_workers_and_reports_json(monkeypatch):
    require_postgres()
    with redis_server() as redis, app_broker(redis.url):
        # The bench's workers inherit this environment: the test database, this Redis.
        monkeypatch.setenv("DATABASE_URL", worker_env(redis.url)["DATABASE_URL"])
        out = StringIO()
        call_command(
            "engine_bench",
            "--deals",
            "5",
            "--steps",
            "2",
            "--workers",
            "2",
            "--skip-1m",
            "--json",
            "--timeout",
            "60",
            stdout=out,
        )

    result = json.loads(out.getvalue())
    assert set(result) >= KEYS
    assert result["backend"] == "postgresql+redis"
    assert (result["deals"], result["steps"], result["duplicate_effects"]) == (5, 10, 0)
    assert result["tick_ms_10k"] > 0 and result["tick_ms_1m"] is None
    assert result["worker_peak_rss_mb"] > 0
    assert not Deal.objects.exists() and not StepRun.objects.exists()  # cleaned up


@pytest.mark.django_db
def test_engine_bench_refuses_a_database_with_real_deals():
    DealFactory(name="Acme renewal")
    with pytest.raises(CommandError, match="dedicated database"):
        call_command("engine_bench", "--deals", "1", "--workers", "1")
