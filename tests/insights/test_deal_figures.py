"""Won and lost counts, amounts, the win rate, the sales cycle, and the win and loss
reasons broken down four ways, against a small set of deals counted by hand."""

import datetime as dt
from decimal import Decimal

import pytest

from apps.growth.results import ResultFilters
from apps.insights.selectors import deal_amounts, deal_summary, reasons
from tests.factories import UserFactory, closed_deal

pytestmark = pytest.mark.django_db

Q3 = dt.datetime(2026, 8, 10, 12, 0, tzinfo=dt.UTC)
Q4 = dt.datetime(2026, 10, 20, 12, 0, tzinfo=dt.UTC)


@pytest.fixture
def deals():
    """Retail: won 1000 (20 days, Product fit, Platform), won 3000 (40 days, Price,
    Platform + Analytics), lost 500 (10 days, Price). Software: won 2000 (60 days, Product
    fit, Analytics, in Q3), lost 700 EUR (30 days, Competitor, Q3). An open deal and a
    deal of 2025 are outside."""
    rita = UserFactory(username="rita", first_name="Rita", last_name="Rep")
    raj = UserFactory(username="raj", first_name="Raj", last_name="Rep")
    closed_deal(
        won=True,
        closed_at=Q4,
        days=20,
        amount="1000.00",
        segment="Retail",
        reason="Product fit",
        owner=rita,
        families=("Platform",),
    )
    closed_deal(
        won=True,
        closed_at=Q4,
        days=40,
        amount="3000.00",
        segment="Retail",
        reason="Price",
        owner=raj,
        families=("Platform", "Analytics"),
    )
    closed_deal(
        won=False,
        closed_at=Q4,
        days=10,
        amount="500.00",
        segment="Retail",
        reason="Price",
        owner=rita,
    )
    closed_deal(
        won=True,
        closed_at=Q3,
        days=60,
        amount="2000.00",
        segment="Software",
        reason="Product fit",
        owner=rita,
        families=("Analytics",),
    )
    closed_deal(
        won=False,
        closed_at=Q3,
        days=30,
        amount="700.00",
        segment="Software",
        reason="Competitor",
        owner=raj,
        currency="EUR",
    )
    closed_deal(won=True, closed_at=dt.datetime(2025, 5, 1, tzinfo=dt.UTC), segment="Retail")
    from tests.factories import DealFactory

    DealFactory(stage="negotiation", amount=Decimal("9999.00"))


PERIOD = ResultFilters(since=dt.date(2026, 1, 1), until=dt.date(2026, 12, 31))


def test_win_rate_counts_and_cycle(deals):
    summary = deal_summary(PERIOD)
    assert summary["won"] == 3
    assert summary["lost"] == 2
    assert summary["win_rate"] == 60.0  # 3 ÷ (3 + 2)
    assert summary["cycle_days"] == 40.0  # (20 + 40 + 60) ÷ 3
    assert summary["lost_cycle_days"] == 20.0  # (10 + 30) ÷ 2


def test_amounts_and_average_deal_size_per_currency(deals):
    rows = {row["currency"]: row for row in deal_amounts(PERIOD)}
    assert rows["USD"]["won_amount"] == Decimal("6000.00")
    assert rows["USD"]["lost_amount"] == Decimal("500.00")
    assert rows["USD"]["average_won"] == Decimal("2000.00")
    assert rows["EUR"]["won_amount"] == Decimal("0.00")
    assert rows["EUR"]["lost_amount"] == Decimal("700.00")
    assert rows["EUR"]["average_won"] is None


def test_the_period_and_the_segment_narrow_the_deals(deals):
    retail_q4 = ResultFilters(
        since=dt.date(2026, 10, 1), until=dt.date(2026, 12, 31), segment="Retail"
    )
    summary = deal_summary(retail_q4)
    assert (summary["won"], summary["lost"], summary["win_rate"]) == (2, 1, 66.7)
    everything = deal_summary(ResultFilters())
    assert (everything["won"], everything["lost"]) == (4, 2)


def _table(rows):
    return {(row["group"], row["reason"]): (row["deals"], row["share"]) for row in rows}


def test_win_reasons_by_segment(deals):
    assert _table(reasons(PERIOD, kind="win", by="segment")) == {
        ("Retail", "Price"): (1, 50.0),
        ("Retail", "Product fit"): (1, 50.0),
        ("Software", "Product fit"): (1, 100.0),
    }


def test_loss_reasons_by_quarter(deals):
    assert _table(reasons(PERIOD, kind="loss", by="quarter")) == {
        ("2026 Q3", "Competitor"): (1, 100.0),
        ("2026 Q4", "Price"): (1, 100.0),
    }


def test_win_reasons_by_rep_and_by_product_family(deals):
    assert _table(reasons(PERIOD, kind="win", by="rep")) == {
        ("Raj Rep", "Price"): (1, 100.0),
        ("Rita Rep", "Product fit"): (2, 100.0),
    }
    # The deal with Platform and Analytics counts once in each family.
    assert _table(reasons(PERIOD, kind="win", by="family")) == {
        ("Analytics", "Price"): (1, 50.0),
        ("Analytics", "Product fit"): (1, 50.0),
        ("Platform", "Price"): (1, 50.0),
        ("Platform", "Product fit"): (1, 50.0),
    }


def test_a_deal_without_a_reason_is_counted_as_such(deals):
    closed_deal(won=True, closed_at=Q4, segment="Retail")
    table = _table(reasons(PERIOD, kind="win", by="segment"))
    assert table[("Retail", "(no reason)")] == (1, 33.3)
