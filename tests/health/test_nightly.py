"""The nightly job recomputes every account and writes today's snapshot; run twice the
same day, it leaves the same rows and raises no second event."""

import datetime as dt

import pytest
from django.conf import settings

from apps.core.models import DomainEvent
from apps.health.models import AccountHealth, HealthSnapshot
from apps.health.tasks import recompute_all
from tests.health.conftest import NOW, customer, customers, nps_answer

pytestmark = pytest.mark.django_db


def rows():
    return (
        sorted(AccountHealth.objects.values_list("account_id", "score", "band")),
        sorted(HealthSnapshot.objects.values_list("account_id", "date", "score", "band")),
        DomainEvent.objects.filter(name="account.health_changed").count(),
    )


def test_running_it_twice_leaves_the_same_rows(now):
    accounts = customers(3)
    nps_answer(accounts[0], 1)
    assert recompute_all.apply().get() == 3
    first = rows()
    assert len(first[1]) == 3 and first[2] == 3
    assert {date for _, date, _, _ in first[1]} == {NOW.date()}

    now.advance(dt.timedelta(hours=2))
    recompute_all.apply()
    assert rows() == first


def test_the_next_day_adds_a_snapshot(now):
    account = customer()
    recompute_all.apply()
    now.advance(dt.timedelta(days=1))
    recompute_all.apply()
    assert list(HealthSnapshot.objects.filter(account=account).values_list("date", flat=True)) == [
        NOW.date(),
        NOW.date() + dt.timedelta(days=1),
    ]


def test_it_goes_through_the_accounts_in_chunks(now):
    from apps.health.services import health_recompute_all

    customers(5)
    assert health_recompute_all(chunk=2) == 5
    assert HealthSnapshot.objects.count() == 5


def test_it_is_on_the_beat_schedule():
    assert any(
        entry["task"] == "health.recompute_all" for entry in settings.CELERY_BEAT_SCHEDULE.values()
    )
