"""Each factor turns what happened at the account into 0–100 points, and says why."""

import pytest

from apps.customers.models import Account
from apps.health.models import HealthFactor
from apps.health.scoring import health_compute
from tests.health.conftest import customer, done_task, nps_answer, open_task, usage

pytestmark = pytest.mark.django_db


def factor(account: Account, key: str):
    computed = health_compute(account_ids=[account.pk])[account.pk]
    return next(f for f in computed.factors if f.key == key)


def test_the_latest_nps_answer_counts_by_its_band(now):
    account = customer()
    nps_answer(account, 10, days_ago=40)
    nps_answer(account, 3, days_ago=2)
    line = factor(account, "nps")
    assert (line.raw, line.value, line.points) == (3, "detractor (3)", 0)
    assert "Latest NPS answer 3" in line.why

    nps_answer(account, 8, days_ago=0)
    assert factor(account, "nps").points == 50  # a passive: the configured points
    HealthFactor.objects.filter(key="nps").update(passive_points=60)
    assert factor(account, "nps").points == 60


def test_an_account_without_an_nps_answer_says_so_and_is_left_out(now):
    line = factor(customer(), "nps")
    assert (line.has_data, line.value, line.points, line.share) == (
        False,
        "no answer yet",
        None,
        0,
    )
    assert line.why == "No NPS answer yet: left out."


def test_overdue_tasks_lose_points_up_to_the_configured_count(now):
    account = customer()
    assert factor(account, "overdue_tasks").points == 100
    for _ in range(2):
        open_task(account, due_in_days=-1)
    open_task(account, due_in_days=+1)  # not due yet
    line = factor(account, "overdue_tasks")
    assert (line.raw, line.value, line.points) == (2, "2 overdue tasks", 60)  # 0 → 100, 5 → 0


def test_open_escalations_count_the_tasks_of_the_configured_queue(now):
    account = customer()
    open_task(account, due_in_days=3, queue="escalations")
    open_task(account, due_in_days=3)
    line = factor(account, "escalations")
    assert (line.raw, line.points) == (1, 50)  # full at 0, none from 2
    assert "in the escalations queue" in line.why


def test_usage_is_used_over_licensed_units_of_each_products_latest_snapshot(now):
    account = customer()
    assert factor(account, "usage").value == "no usage reported"
    usage(account, used=10, licensed=100, sku="SEAT", days_ago=30)
    usage(account, used=50, licensed=100, sku="SEAT", days_ago=1)  # the latest counts
    usage(account, used=30, licensed=100, sku="API")
    line = factor(account, "usage")
    assert line.raw == 40.0  # (50 + 30) / 200
    assert line.points == pytest.approx(100 * (40 - 20) / (80 - 20), abs=0.1)
    assert "80 of 200 licensed units" in line.why


def test_days_since_the_last_touch_take_the_later_task_or_answer(now):
    account = customer()
    assert factor(account, "last_touch").has_data is False
    done_task(account, days_ago=70)
    line = factor(account, "last_touch")
    assert (line.raw, line.points) == (70, 0)
    nps_answer(account, 9, days_ago=37)
    line = factor(account, "last_touch")
    assert (line.raw, line.points) == (37, 50)  # 14 → 100, 60 → 0
    assert "an answered survey" in line.why
    done_task(account, days_ago=3)
    assert factor(account, "last_touch").points == 100


def test_onboarding_progress_counts_only_onboarding_accounts(now):
    account = customer(lifecycle_status=Account.Lifecycle.ACTIVE)
    assert factor(account, "onboarding").value == "not onboarding"
    account.lifecycle_status = Account.Lifecycle.ONBOARDING
    account.save()
    assert factor(account, "onboarding").value == "nothing due yet"
