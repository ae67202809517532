"""The demo shows every state a user reads about: overdue, due-today and SLA-breached
tasks; detractors followed up and still waiting; renewals next month; a year of won and
lost deals with their reasons across segments, product families and reps, closed through
the deal services (so each has its stage changes) and enrolling nobody."""

import datetime as dt
import zoneinfo
from io import StringIO

import pytest
from django.core.management import call_command

from apps.core import clock, outbox
from apps.customers.models import Account
from apps.deals.models import CLOSED_STAGES, Deal, Stage, StageChange
from apps.deals.selectors import account_revenue
from apps.engine.models import Enrollment
from apps.queues.models import Task
from apps.surveys.models import Response

pytestmark = pytest.mark.django_db

# Tuesday 1 December 2026, 15:00 UTC: 09:00 in Chicago, where Carla works.
NOW = dt.datetime(2026, 12, 1, 15, 0, tzinfo=dt.UTC)
CHICAGO = zoneinfo.ZoneInfo("America/Chicago")


@pytest.fixture
def seeded(fast_passwords):
    """Seeded on a clock set to ``NOW``, with the worker's work done."""
    with clock.frozen(NOW):
        call_command("seed_demo", stdout=StringIO())
        outbox.drain()


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def open_tasks():
    return Task.objects.filter(status__in=Task.OPEN_STATUSES)


def test_csms_have_overdue_due_today_and_sla_breached_work(seeded):
    carla = open_tasks().filter(assignee__username="carla.csm")
    today = NOW.astimezone(CHICAGO).date()

    assert carla.filter(due_at__lt=NOW).exists()
    assert any(
        t.due_at >= NOW and t.due_at.astimezone(CHICAGO).date() == today
        for t in carla.exclude(due_at=None)
    )
    breached = open_tasks().filter(sla_breached_at__isnull=False)
    assert breached.filter(queue__slug="escalations", assignee__username="chris.csm").exists()


def test_some_detractors_were_followed_up_and_some_wait(seeded):
    unhappy = Response.objects.filter(band__in=["detractor", "low"])

    assert unhappy.filter(followed_up_at__isnull=False).exists()
    assert unhappy.filter(followed_up_at__isnull=True).exists()


def test_some_customers_renew_next_month(seeded):
    # Won about eleven months ago on 12-month terms, nothing won since.
    revenue = account_revenue(
        account_ids=Account.objects.values_list("pk", flat=True), today=NOW.date()
    )
    renewing = [
        r
        for r in revenue.values()
        if r.renewal_date and r.renewal_date.replace(day=1) == dt.date(2027, 1, 1)
    ]

    assert len(renewing) >= 3
    assert all(r.arr for r in renewing)


def test_a_year_of_won_and_lost_deals_with_reasons_across_segments_families_and_reps(seeded):
    year_ago = NOW - dt.timedelta(days=365)
    closed = Deal.objects.filter(closed_at__gte=year_ago, stage__in=CLOSED_STAGES)
    won, lost = closed.filter(stage=Stage.CLOSED_WON), closed.filter(stage=Stage.CLOSED_LOST)

    assert won.count() >= 20 and lost.count() >= 15
    assert not won.filter(win_reason=None).exists() and not lost.filter(loss_reason=None).exists()
    assert won.values("win_reason").distinct().count() >= 4
    assert lost.values("loss_reason").distinct().count() >= 4
    for deals in (won, lost):
        assert deals.values("account__segment").distinct().count() >= 4
        assert deals.values("owner").distinct().count() == 2
        assert deals.values("line_items__product__family").distinct().count() == 3
    months = {d.closed_at.date().replace(day=1) for d in closed}
    assert len(months) >= 12
    # Closed through the services: each has its walk through the stages, on those days.
    for deal in closed:
        changes = StageChange.objects.filter(deal=deal).order_by("occurred_at")
        assert changes.last().to_stage == deal.stage
        assert changes.last().occurred_at.date() == deal.closed_at.date()


def test_last_years_wins_enrolled_nobody_in_onboarding(seeded):
    history = Deal.objects.filter(closed_at__lt=NOW - dt.timedelta(days=200))

    assert history.exists()
    assert not Enrollment.objects.filter(
        deal__in=history, playbook__name="New customer onboarding"
    ).exists()
