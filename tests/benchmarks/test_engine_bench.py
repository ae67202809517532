import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from apps.core.models import DomainEvent
from apps.deals.models import Deal
from apps.engine.models import StepRun
from apps.notifications.models import EmailMessage, Notification
from apps.queues.models import Task
from tests.factories import DealFactory
from tests.services import app_broker, redis_server, require_postgres, worker_env

KEYS = {
    "backend",
    "mode",
    "load_average",
    "autovacuum",
    "deals",
    "steps",
    "close_s",
    "drain_s",
    "enrollments_per_s",
    "steps_per_s",
    "first_task_p50_ms",
    "first_task_p99_ms",
    "first_task_max_ms",
    "queries_per_step",
    "celery_noop_per_s",
    "pg_claim_rows_per_s",
    "tick_ms_10k",
    "tick_ms_1m",
    "worker_rss_growth_pct",
    "worker_peak_rss_mb",
    "duplicate_effects",
}


def run_bench(monkeypatch, *args: str) -> dict:
    require_postgres()
    with redis_server() as redis, app_broker(redis.url):
        # The bench's workers inherit this environment: the test database, this Redis.
        monkeypatch.setenv("DATABASE_URL", worker_env(redis.url)["DATABASE_URL"])
        out = StringIO()
        call_command("engine_bench", *args, "--json", "--timeout", "60", stdout=out)
    return json.loads(out.getvalue())


@pytest.mark.django_db(transaction=True)
def test_a_burst_runs_the_demo_kinds_on_real_workers_and_reports_json(monkeypatch):
    result = run_bench(
        monkeypatch,
        *("--deals", "4", "--workers", "2", "--skip-1m"),
        *("--noop-tasks", "20", "--claim-rows", "500"),
    )

    assert set(result) >= KEYS
    assert (result["backend"], result["mode"], result["close"]) == (
        "postgresql+redis",
        "burst",
        "before",
    )
    assert (result["deals"], result["steps"], result["steps_not_done"]) == (4, 12, {})
    # A task for the CSM (and its assignment notice), the welcome email, the rep's
    # reminder: every effect once.
    assert result["duplicate_effects"] == 0
    assert result["effects"]["tasks"] == 4
    assert result["effects"]["notifications"] == 8
    assert result["effects"]["emails_sent"] == result["effects"]["emails"] > 0
    assert result["first_task_p50_ms"] is not None
    assert result["queries_per_step"] > 0
    assert result["worker_tasks"]["core.drain"]["statements"] > 0
    assert result["celery_noop_per_s"] > 0 and result["pg_claim_rows_per_s"] > 0
    assert result["tick_ms_10k"] > 0 and result["tick_ms_1m"] is None
    assert result["worker_peak_rss_mb"] > 0
    assert not Deal.objects.exists() and not StepRun.objects.exists()  # cleaned up
    assert not Task.objects.exists() and not EmailMessage.objects.exists()
    assert not Notification.objects.exists()
    assert not DomainEvent.objects.filter(aggregate_type="enrollment").exists()


@pytest.mark.django_db(transaction=True)
def test_paced_closes_report_each_close_s_first_task_latency(monkeypatch):
    result = run_bench(
        monkeypatch,
        *("--rate", "4", "--seconds", "1", "--kinds", "task", "--steps", "2", "--chain"),
        *("--workers", "1", "--skip-ticks", "--noop-tasks", "5", "--claim-rows", "0"),
    )

    assert (result["mode"], result["close"], result["playbook"]) == (
        "rate",
        "paced",
        "task x2 chained",
    )
    assert (result["deals"], result["steps"], result["duplicate_effects"]) == (4, 8, 0)
    assert 0 < result["first_task_p50_ms"] <= result["first_task_max_ms"]
    assert result["pg_claim_rows_per_s"] is None and result["tick_ms_10k"] is None


@pytest.mark.django_db
def test_engine_bench_refuses_a_database_with_real_deals():
    DealFactory(name="Acme renewal")
    with pytest.raises(CommandError, match="dedicated database"):
        call_command("engine_bench", "--deals", "1", "--workers", "1")


def test_engine_bench_wants_a_rate_with_its_seconds():
    with pytest.raises(CommandError, match="--rate and --seconds go together"):
        call_command("engine_bench", "--rate", "50")
