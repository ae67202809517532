"""ARR and the renewal date come from won deals: amount × 12 / term for contracts that
run today, per currency; the renewal is the latest end of a won deal's term."""

import datetime as dt
from decimal import Decimal

import pytest

from apps.core.errors import Conflict
from apps.customers.models import Account
from apps.deals.selectors import account_revenue, with_arr_and_renewal
from apps.deals.services import deal_update
from tests.factories import AccountFactory
from tests.workspace.conftest import TODAY, contract

pytestmark = pytest.mark.django_db


def test_arr_counts_running_won_contracts_per_year():
    account = AccountFactory()
    contract(account, amount="24000", close_date=dt.date(2026, 6, 1), term_months=24)
    contract(account, amount="6000", close_date=dt.date(2026, 10, 1), term_months=6)
    # Ended before today, lost, and still open: none of them count.
    contract(account, amount="99999", close_date=dt.date(2024, 1, 1), term_months=12)
    contract(account, amount="5000", close_date=dt.date(2026, 9, 1), stage="closed_lost")
    contract(account, amount="7000", close_date=dt.date(2026, 9, 1), stage="negotiation")

    revenue = account_revenue(account_ids=[account.pk], today=TODAY)[account.pk]

    assert revenue.arr == {"USD": Decimal("12000.00") + Decimal("12000.00")}
    assert revenue.renewal_date == dt.date(2028, 6, 1)


def test_mixed_currencies_are_summed_apart_never_converted():
    account = AccountFactory()
    contract(account, amount="12000", close_date=dt.date(2026, 1, 10), currency="EUR")
    contract(account, amount="3600", close_date=dt.date(2026, 2, 10), currency="USD")

    revenue = account_revenue(account_ids=[account.pk], today=TODAY)[account.pk]

    assert revenue.arr == {"EUR": Decimal("12000.00"), "USD": Decimal("3600.00")}


def test_a_contract_stops_counting_on_the_day_its_term_ends():
    account = AccountFactory()
    contract(account, amount="1200", close_date=dt.date(2025, 11, 20), term_months=12)

    on_the_last_day = account_revenue(account_ids=[account.pk], today=dt.date(2026, 11, 19))
    on_the_end = account_revenue(account_ids=[account.pk], today=dt.date(2026, 11, 20))

    assert on_the_last_day[account.pk].arr == {"USD": Decimal("1200.00")}
    assert on_the_end[account.pk].arr == {}
    assert on_the_end[account.pk].renewal_date == dt.date(2026, 11, 20)


def test_many_accounts_are_read_in_one_query(django_assert_num_queries):
    accounts = [AccountFactory() for _ in range(5)]
    for number, account in enumerate(accounts, start=1):
        contract(account, amount=f"{number}200", close_date=dt.date(2026, 3, 1))

    with django_assert_num_queries(1):
        found = account_revenue(account_ids=[a.pk for a in accounts], today=TODAY)

    assert [found[a.pk].arr["USD"] for a in accounts] == [
        Decimal("1200.00"),
        Decimal("2200.00"),
        Decimal("3200.00"),
        Decimal("4200.00"),
        Decimal("5200.00"),
    ]


def test_the_annotations_agree_with_the_selector():
    account = AccountFactory()
    contract(account, amount="24000", close_date=dt.date(2026, 6, 1), term_months=24)
    AccountFactory()  # no deal: no ARR, no renewal

    rows = with_arr_and_renewal(Account.objects.order_by("pk"), today=TODAY)

    assert [(round(a.arr_total or 0), a.renewal_date) for a in rows] == [
        (12000, dt.date(2028, 6, 1)),
        (0, None),
    ]


def test_the_term_of_a_closed_deal_is_a_record(admin_user):
    deal = contract(AccountFactory(), amount="1000", close_date=dt.date(2026, 1, 1))

    with pytest.raises(Conflict, match="term"):
        deal_update(deal=deal, actor=admin_user, term_months=24)

    deal.refresh_from_db()
    assert deal.term_months == 12
