"""The account list sorts by name, ARR, renewal and health, both ways; accounts without
a value come last."""

import datetime as dt

import pytest
from django.urls import reverse

from tests.factories import AccountFactory
from tests.workspace.conftest import contract, health

pytestmark = pytest.mark.django_db


@pytest.fixture
def accounts(now):
    big = AccountFactory(name="Big")
    small = AccountFactory(name="Small")
    AccountFactory(name="Aardvark (prospect)")
    contract(big, amount="50000", close_date=dt.date(2026, 3, 1))  # renews 1 Mar 2027
    contract(small, amount="6000", close_date=dt.date(2026, 1, 15))  # renews 15 Jan 2027
    health(big, score=40, band="red")
    health(small, score=90, band="green")


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("name", ["Aardvark (prospect)", "Big", "Small"]),
        ("-name", ["Small", "Big", "Aardvark (prospect)"]),
        ("-arr", ["Big", "Small", "Aardvark (prospect)"]),
        ("renewal", ["Small", "Big", "Aardvark (prospect)"]),
        ("-renewal", ["Big", "Small", "Aardvark (prospect)"]),
        ("health", ["Big", "Small", "Aardvark (prospect)"]),
        ("-health", ["Small", "Big", "Aardvark (prospect)"]),
    ],
)
def test_sorting(client, csm, accounts, sort, expected):
    client.force_login(csm)

    response = client.get(reverse("workspace:account_list"), {"sort": sort})

    assert [row["account"].name for row in response.context["rows"]] == expected


def test_the_list_shows_arr_renewal_and_health(client, csm, accounts):
    client.force_login(csm)

    response = client.get(reverse("workspace:account_list"), {"sort": "-arr"})

    body = response.content.decode()
    assert "50,000.00 USD" in body
    assert "1 Mar 2027" in body
    assert "health-band--red" in body and "Red · 40" in body
