"""The score is the weighted average of the factors that have data: a factor without data
is left out and its weight shared; the bands follow the thresholds in admin."""

import pytest

from apps.health.models import HealthFactor, HealthSettings
from apps.health.scoring import health_compute
from tests.health.conftest import customer, done_task, nps_answer, open_task

pytestmark = pytest.mark.django_db


def computed(account):
    return health_compute(account_ids=[account.pk])[account.pk]


def test_contributions_add_up_to_the_score_and_missing_factors_share_their_weight(now):
    account = customer()
    nps_answer(account, 3)  # detractor: 0 points, weight 25
    for _ in range(2):
        open_task(account, due_in_days=-2)  # 2 overdue: 60 points, weight 20
    done_task(account, days_ago=1)  # last touch today-ish: 100 points, weight 15
    # Escalations: none, 100 points, weight 10. Usage and onboarding: no data.
    result = computed(account)
    lines = {f.key: f for f in result.factors}
    assert {k for k, f in lines.items() if not f.has_data} == {"usage", "onboarding"}
    counted = 25 + 20 + 15 + 10
    assert lines["nps"].share == pytest.approx(100 * 25 / counted, abs=0.1)
    assert lines["usage"].share == 0 and lines["usage"].contribution == 0
    expected = (0 * 25 + 60 * 20 + 100 * 15 + 100 * 10) / counted
    assert result.score == round(expected)  # 53
    assert sum(f.contribution for f in result.factors) == pytest.approx(expected, abs=0.3)
    assert result.band == "yellow"  # 40 ≤ 53 < 70


def test_a_weight_of_zero_leaves_a_factor_out_and_says_so(now):
    account = customer()
    nps_answer(account, 0)
    HealthFactor.objects.filter(key="nps").update(weight=0)
    result = computed(account)
    nps = next(f for f in result.factors if f.key == "nps")
    assert nps.contribution == 0 and nps.share == 0
    assert "Weight 0: not counted." in nps.why
    assert result.score == 100  # only overdue tasks and escalations, both clean


def test_the_bands_follow_the_thresholds(now):
    account = customer()
    nps_answer(account, 3)  # a detractor (0 of 25), but a touch today (100 of 15)
    assert computed(account).score == round(100 * 45 / 70)  # 64, with overdue and escalations
    assert computed(account).band == "yellow"  # the defaults: green ≥ 70, yellow ≥ 40
    HealthSettings.objects.update(green_at=80, yellow_at=65)
    assert computed(account).band == "red"
    HealthSettings.objects.update(green_at=64, yellow_at=20)
    assert computed(account).band == "green"


def test_no_factor_with_data_means_no_score(now):
    account = customer()
    HealthFactor.objects.filter(key__in=["overdue_tasks", "escalations"]).update(weight=0)
    result = computed(account)
    assert (result.score, result.band) == (None, "unknown")


@pytest.mark.parametrize("lifecycle", ["prospect", "churned"])
def test_prospects_and_churned_accounts_are_not_measured(now, lifecycle):
    account = customer(lifecycle_status=lifecycle)
    nps_answer(account, 10)
    result = computed(account)
    assert (result.score, result.band) == (None, "unknown")
    assert all(not f.has_data for f in result.factors)
    assert "Health is measured for customers only" in result.factors[0].why
