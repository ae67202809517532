"""Recomputing costs the same number of queries for one account as for fifty."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.health.selectors import health_for_accounts
from apps.health.services import health_recompute
from tests.health.conftest import customer, customers, done_task, nps_answer, open_task, usage

pytestmark = pytest.mark.django_db


def with_inputs(account, n):
    nps_answer(account, n % 11)
    open_task(account, due_in_days=-1)
    open_task(account, due_in_days=2, queue="escalations")
    done_task(account, days_ago=n)
    usage(account, used=n, licensed=100, sku=f"SKU-{n % 3}")


def queries(account_ids, *, snapshot):
    with CaptureQueriesContext(connection) as captured:
        health_recompute(account_ids=account_ids, snapshot=snapshot)
    return len(captured)


@pytest.mark.parametrize("snapshot", [False, True])
def test_one_or_fifty_accounts_cost_the_same_queries(now, snapshot):
    one = customer()
    with_inputs(one, 1)
    fifty = customers(50)
    for n, account in enumerate(fifty):
        with_inputs(account, n)
    # First computation (every account gets its first band and event) …
    assert queries([one.pk], snapshot=snapshot) == queries([a.pk for a in fifty], snapshot=snapshot)
    # … and again, with nothing changed (no event).
    assert queries([one.pk], snapshot=snapshot) == queries([a.pk for a in fifty], snapshot=snapshot)
    assert len(health_for_accounts(account_ids=[a.pk for a in fifty])) == 50
