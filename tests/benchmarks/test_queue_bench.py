import json
from io import StringIO

import pytest
from django.core.management import call_command

from apps.queues.models import Queue, Task

KEYS = {"tasks", "my_work_p95_ms", "queue_p95_ms", "api_list_p95_ms", "queries_per_page"}


@pytest.mark.django_db
def test_queue_bench_fills_measures_and_cleans_up():
    out = StringIO()
    call_command("queue_bench", "--tasks", "300", "--requests", "2", "--json", stdout=out)

    result = json.loads(out.getvalue())
    assert set(result) >= KEYS
    assert result["tasks"] == 300
    assert all(result[key] > 0 for key in ("my_work_p95_ms", "queue_p95_ms", "api_list_p95_ms"))
    # The same fixed number of queries as the pages' own query-count tests allow.
    assert 0 < result["queries_per_page"] <= 20
    assert (
        not Task.objects.exists() and not Queue.objects.filter(slug__startswith="bench-").exists()
    )
