"""A recompute stores the score and raises ``account.health_changed`` when the band
changes (old and new band and score), and nothing when it does not."""

import pytest

from apps.core.models import DomainEvent
from apps.health.models import AccountHealth
from apps.health.services import health_recompute
from tests.health.conftest import customer, nps_answer, open_task

pytestmark = pytest.mark.django_db


def health_events(account):
    return list(
        DomainEvent.objects.filter(name="account.health_changed", aggregate_id=account.pk)
        .order_by("id")
        .values_list("payload", flat=True)
    )


def test_the_first_score_and_each_band_change_raise_the_event(now):
    account = customer()
    health_recompute(account_ids=[account.pk])
    stored = AccountHealth.objects.get(account=account)
    assert (stored.score, stored.band) == (100, "green")
    assert [f["key"] for f in stored.factors] == [
        "nps",
        "overdue_tasks",
        "onboarding",
        "usage",
        "last_touch",
        "escalations",
    ]
    assert health_events(account) == [
        {
            "account_id": account.pk,
            "band": "green",
            "score": 100,
            "previous_band": None,
            "previous_score": None,
        }
    ]

    nps_answer(account, 2)
    for _ in range(5):
        open_task(account, due_in_days=-1)
    health_recompute(account_ids=[account.pk])
    # nps 0 × 25, overdue 0 × 20, touch 100 × 15, escalations 100 × 10: 25 of 70 → 36.
    assert health_events(account)[-1] == {
        "account_id": account.pk,
        "band": "red",
        "score": 36,
        "previous_band": "green",
        "previous_score": 100,
    }


def test_a_recompute_that_keeps_the_band_raises_nothing(now):
    account = customer()
    health_recompute(account_ids=[account.pk])
    open_task(account, due_in_days=-1)  # 80 points on overdue: still green
    health_recompute(account_ids=[account.pk])
    assert AccountHealth.objects.get(account=account).score == round((80 * 20 + 100 * 10) / 30)
    assert len(health_events(account)) == 1  # only the first score's
