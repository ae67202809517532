"""Workspace tests: accounts with deals, tasks and health made the way the product
stores them, at a frozen moment."""

import datetime as dt
from decimal import Decimal

import pytest

from apps.core import clock
from apps.customers.models import Account
from apps.deals.models import Deal
from apps.health.models import AccountHealth
from tests.factories import DealFactory

NOW = dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.UTC)
TODAY = NOW.date()


@pytest.fixture
def now():
    with clock.frozen(NOW) as frozen:
        yield frozen


def contract(
    account: Account,
    *,
    amount: str,
    close_date: dt.date,
    term_months: int = 12,
    currency: str = "USD",
    stage: str = "closed_won",
) -> Deal:
    """A closed deal: a contract of ``term_months`` from ``close_date``."""
    return DealFactory(
        account=account,
        stage=stage,
        amount=Decimal(amount),
        currency=currency,
        close_date=close_date,
        term_months=term_months,
        closed_at=dt.datetime.combine(close_date, dt.time(12), tzinfo=dt.UTC),
    )


def health(account: Account, *, score: int | None, band: str) -> AccountHealth:
    return AccountHealth.objects.create(
        account=account, score=score, band=band, computed_at=NOW, factors=[]
    )
