"""The referral funnel and the expansion pipeline against a small example computed by
hand, through the selectors, the API and the pages."""

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse

from apps.deals.models import Deal, Stage
from apps.growth.models import ExpansionDeal, Referral, ReferralRequest
from apps.growth.results import ResultFilters, expansion_pipeline, referral_funnel
from apps.playbooks.models import Playbook
from tests.factories import AccountFactory, ContactFactory, DealFactory

pytestmark = pytest.mark.django_db

OCT = dt.datetime(2026, 10, 5, 10, 0, tzinfo=dt.UTC)
NOV = dt.datetime(2026, 11, 3, 10, 0, tzinfo=dt.UTC)


def ask(account, at, *, opened=True, status=ReferralRequest.Status.ASKED):
    return ReferralRequest.objects.create(
        contact=ContactFactory(account=account),
        account=account,
        created_at=at,
        expires_at=at + dt.timedelta(days=60),
        opened_at=at + dt.timedelta(hours=1) if opened else None,
        status=status,
    )


def refer(request, n, *, deal=None, won=None, days=0):
    submitted = request.created_at + dt.timedelta(days=1)
    return Referral.objects.create(
        request=request,
        referrer_contact=request.contact,
        referrer_account=request.account,
        company=f"Company {n}",
        contact_name=f"Person {n}",
        email=f"p{n}@c{n}.test",
        consent_at=submitted,
        submitted_at=submitted,
        outcome="new_account",
        account=request.account,
        deal=deal,
        converted_at=submitted + dt.timedelta(days=days) if won is not None else None,
        won_amount=won,
    )


@pytest.fixture
def funnel_example():
    """October, Software: 3 asks, 2 opened, 2 referrals (both deals, one won for 10 000
    after 20 days). November, Retail: 2 asks, 1 opened, 1 referral with a deal won for
    5 000 after 40 days. A held-back ask counts nowhere."""
    software = AccountFactory(segment="Software")
    retail = AccountFactory(segment="Retail")
    a1, a2 = ask(software, OCT), ask(software, OCT)
    ask(software, OCT, opened=False)
    ask(software, OCT, status=ReferralRequest.Status.SUPPRESSED)
    refer(a1, 1, deal=DealFactory(), won=Decimal("10000"), days=20)
    refer(a2, 2, deal=DealFactory())
    b1 = ask(retail, NOV)
    ask(retail, NOV, opened=False)
    refer(b1, 3, deal=DealFactory(), won=Decimal("5000"), days=40)


def test_the_funnel_overall_and_by_month_and_segment(funnel_example):
    [overall] = referral_funnel(ResultFilters())
    assert overall == {
        "group": "All",
        "asked": 5,
        "opened": 3,
        "submitted": 3,
        "deals": 3,
        "won": 2,
        "conversion_rate": 66.7,
        "revenue": {"USD": "15000.00"},
        "median_days_to_convert": 30.0,
    }
    by_month = {row["group"]: row for row in referral_funnel(ResultFilters(), by="month")}
    assert (by_month["2026-10"]["asked"], by_month["2026-10"]["won"]) == (3, 1)
    assert by_month["2026-11"]["revenue"] == {"USD": "5000.00"}
    assert by_month["2026-11"]["median_days_to_convert"] == 40.0
    by_segment = {row["group"]: row for row in referral_funnel(ResultFilters(), by="segment")}
    assert by_segment["Software"]["conversion_rate"] == 50.0
    [retail] = referral_funnel(ResultFilters(segment="Retail"))
    assert (retail["asked"], retail["submitted"], retail["won"]) == (2, 1, 1)
    [october] = referral_funnel(ResultFilters(until=dt.date(2026, 10, 31)))
    assert (october["asked"], october["revenue"]) == (3, {"USD": "10000.00"})


@pytest.fixture
def pipeline_example():
    """Two steps of one playbook: "day-60" prompted 3 deals (one won 4 000, one lost, one
    open at 2 500); "usage" prompted 1, won 7 000 in EUR."""
    playbook = Playbook.objects.create(name="Growth")

    def prompted(step, stage, amount, currency="USD", won=None):
        deal = DealFactory(kind=Deal.Kind.EXPANSION, amount=amount, currency=currency, stage=stage)
        return ExpansionDeal.objects.create(
            deal=deal,
            playbook=playbook,
            version_number=2,
            step_key=step,
            created_at=NOV,
            won_at=NOV + dt.timedelta(days=9) if won else None,
            won_amount=won,
        )

    prompted("day-60", Stage.CLOSED_WON, 4000, won=Decimal("4000"))
    prompted("day-60", Stage.CLOSED_LOST, 3000)
    prompted("day-60", Stage.QUALIFIED, 2500)
    prompted("usage", Stage.CLOSED_WON, 7000, currency="EUR", won=Decimal("7000"))
    return playbook


def test_the_pipeline_by_step_attributes_revenue_to_each_step(pipeline_example):
    rows = expansion_pipeline(ResultFilters(), by="step")
    assert rows == [
        {
            "playbook": "Growth",
            "version": 2,
            "step": "day-60",
            "prompted": 3,
            "open": 1,
            "won": 1,
            "lost": 1,
            "win_rate": 50.0,
            "pipeline": {"USD": "2500.00"},
            "won_revenue": {"USD": "4000.00"},
        },
        {
            "playbook": "Growth",
            "version": 2,
            "step": "usage",
            "prompted": 1,
            "open": 0,
            "won": 1,
            "lost": 0,
            "win_rate": 100.0,
            "pipeline": {},
            "won_revenue": {"EUR": "7000.00"},
        },
    ]
    [november] = expansion_pipeline(ResultFilters(), by="month")
    assert november["group"] == "2026-11"
    assert november["won_revenue"] == {"EUR": "7000.00", "USD": "4000.00"}


def test_the_api_gives_the_same_figures_and_names_bad_filters(
    client, funnel_example, pipeline_example, cs_manager
):
    client.force_login(cs_manager)
    [overall] = client.get("/api/referrals/funnel/").json()
    assert (overall["asked"], overall["won"], overall["revenue"]) == (5, 2, {"USD": "15000.00"})
    rows = client.get("/api/expansion-deals/pipeline/", {"by": "step"}).json()
    assert [row["step"] for row in rows] == ["day-60", "usage"]
    bad = client.get("/api/referrals/funnel/", {"by": "week", "since": "yesterday"})
    assert bad.status_code == 400
    assert "by" in bad.json()
    bad = client.get("/api/referrals/funnel/", {"since": "2026-11-30", "until": "2026-11-01"})
    assert bad.status_code == 400 and "until" in bad.json()
    listed = client.get("/api/referrals/", {"converted": "true"}).json()["results"]
    assert sorted(row["company"] for row in listed) == ["Company 1", "Company 3"]


def test_the_pages_show_the_figures_and_a_chart(client, funnel_example, pipeline_example, csm):
    client.force_login(csm)
    page = client.get(reverse("growth:referrals")).content.decode()
    assert "66.7 %" in page and "15000.00 USD" in page and "30.0 days" in page
    assert "<svg" in page and "Referral funnel" in page
    by_segment = client.get(reverse("growth:referrals"), {"by": "segment"}).content.decode()
    assert "Software" in by_segment and "Retail" in by_segment
    page = client.get(reverse("growth:expansion")).content.decode()
    assert "day-60" in page and "4000.00 USD" in page and "7000.00 EUR" in page


def test_the_pages_refuse_who_may_not_see_them(client, outsider):
    client.force_login(outsider)
    assert client.get(reverse("growth:referrals")).status_code == 403
    assert client.get(reverse("growth:expansion")).status_code == 403
    assert client.get("/api/referrals/funnel/").status_code == 403
    client.logout()
    assert client.get(reverse("growth:referrals")).status_code == 302


def test_a_bad_filter_on_the_page_is_a_400_that_says_why(client, csm):
    client.force_login(csm)
    response = client.get(reverse("growth:referrals"), {"since": "not-a-date"})
    assert response.status_code == 400
    assert "Enter a valid date." in response.content.decode()
