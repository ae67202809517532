"""The account page's health partials: the factor table says why, the history is an
SVG drawn on the server, the badge always carries its word."""

import datetime as dt

import pytest
from django.template.loader import render_to_string

from apps.health.models import HealthSnapshot
from apps.health.selectors import account_health_panel
from apps.health.services import health_recompute
from tests.health.conftest import NOW, customer, nps_answer, open_task

pytestmark = pytest.mark.django_db


def test_the_panel_shows_each_factor_and_the_history(now, django_assert_max_num_queries):
    account = customer()
    nps_answer(account, 3)
    open_task(account, due_in_days=-2)
    health_recompute(account_ids=[account.pk])
    for days_ago, score in ((30, 80), (10, 60), (1, 45)):
        HealthSnapshot.objects.create(
            account=account,
            date=NOW.date() - dt.timedelta(days=days_ago),
            score=score,
            band="yellow",
        )
    with django_assert_max_num_queries(3):
        panel = account_health_panel(account=account)
    html = render_to_string("health/_account_health.html", {"health_panel": panel})

    assert "detractor (3)" in html and "Latest NPS answer 3" in html
    assert "No usage reported yet: left out." in html
    assert "<svg" in html and "<script" not in html
    assert html.count('class="dot"') == 3
    assert "Health score from" in html  # the chart's text description


def test_an_account_never_computed_says_so():
    account = customer()
    html = render_to_string(
        "health/_account_health.html", {"health_panel": account_health_panel(account=account)}
    )
    assert "has not been computed for this account yet" in html
    assert "<svg" not in html


@pytest.mark.parametrize(
    ("band", "score", "text"),
    [("red", 12, "Red · 12"), ("green", None, "Green"), ("unknown", None, "Not enough data")],
)
def test_the_badge_carries_its_word(band, score, text):
    html = render_to_string("health/_band.html", {"band": band, "score": score})
    assert text in html and f"health-band--{band}" in html
