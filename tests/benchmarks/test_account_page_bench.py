import json
from io import StringIO

import pytest
from django.core.management import call_command

from apps.customers.models import Account
from apps.queues.models import Task
from tests.factories import role_group


@pytest.mark.django_db
def test_account_page_bench_fills_measures_and_cleans_up():
    role_group("CSM")  # the roles, as migrate makes them
    out = StringIO()
    call_command("account_page_bench", "--tasks", "300", "--requests", "3", "--json", stdout=out)

    result = json.loads(out.getvalue())
    assert result["tasks_of_the_account"] == 300
    assert result["requests"] == 3
    assert 0 < result["p50_ms"] <= result["p95_ms"] <= result["max_ms"]
    assert 0 < result["queries_per_page"] <= 60
    assert not Task.objects.exists()
    assert not Account.objects.filter(name__startswith="bench-").exists()
