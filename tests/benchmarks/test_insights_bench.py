import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from apps.customers.models import Account
from apps.deals.models import Deal, WinReason
from apps.engine.models import StepRun
from apps.insights.models import StepFunnelDay
from tests.factories import DealFactory
from tests.services import require_postgres


@pytest.mark.django_db(transaction=True)
def test_insights_bench_loads_times_every_page_and_cleans_up():
    require_postgres()
    out = StringIO()
    call_command("insights_bench", "--deals", "200", "--repeats", "2", "--json", stdout=out)
    result = json.loads(out.getvalue())
    assert (result["deals"], result["step_runs"]) == (200, 2000)
    assert set(result["timings_ms"]) == {
        "deals",
        "deals_year_segment_by_family",
        "deals_by_rep",
        "deals_by_quarter",
        "onboarding",
        "onboarding_year_segment",
        "growth",
        "export_win_reasons_by_family",
        "team_dashboard",
    }
    assert all(t["p95"] > 0 for t in result["timings_ms"].values())
    assert not Deal.objects.exists() and not Account.objects.exists()
    assert not StepRun.objects.exists() and not StepFunnelDay.objects.exists()
    assert not WinReason.objects.filter(name__startswith="bench-").exists()


@pytest.mark.django_db
def test_insights_bench_refuses_a_database_with_real_deals():
    DealFactory(name="Acme renewal")
    with pytest.raises(CommandError, match="dedicated database"):
        call_command("insights_bench", "--deals", "1")


@pytest.mark.django_db
def test_insights_bench_needs_postgresql():
    if connection.vendor == "postgresql":
        pytest.skip("on PostgreSQL the bench runs")
    with pytest.raises(CommandError, match="PostgreSQL"):
        call_command("insights_bench", "--deals", "1", "--repeats", "1")
