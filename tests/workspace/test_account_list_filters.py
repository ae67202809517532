"""The account list: search by name or domain and each filter narrows the list; an
unknown value is a 400 naming the field."""

import datetime as dt

import pytest
from django.urls import reverse

from apps.customers.models import Account
from tests.factories import AccountFactory, UserFactory
from tests.workspace.conftest import contract, health

pytestmark = pytest.mark.django_db
URL = reverse("workspace:account_list")


def names(response) -> list[str]:
    return [row["account"].name for row in response.context["rows"]]


@pytest.fixture
def accounts(now):
    carla = UserFactory(username="carla.csm", role="CSM")
    rita = UserFactory(username="rita.rep", role="Sales Rep")
    acme = AccountFactory(
        name="Acme Robotics",
        domain="acme.example",
        lifecycle_status=Account.Lifecycle.ACTIVE,
        tier=Account.Tier.ENTERPRISE,
        segment="Manufacturing",
        country="DE",
        csm=carla,
        owner=rita,
    )
    bolt = AccountFactory(
        name="Bolt Logistics",
        domain="bolt-freight.example",
        lifecycle_status=Account.Lifecycle.AT_RISK,
        tier=Account.Tier.SMB,
        segment="Logistics",
        country="US",
    )
    AccountFactory(name="Cobalt Foods", domain="cobalt.example", country="FR")
    contract(acme, amount="12000", close_date=dt.date(2025, 12, 10))  # renews 10 Dec 2026
    contract(bolt, amount="12000", close_date=dt.date(2026, 6, 1))  # renews 1 Jun 2027
    health(acme, score=82, band="green")
    health(bolt, score=35, band="red")
    return acme


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({}, ["Acme Robotics", "Bolt Logistics", "Cobalt Foods"]),
        ({"q": "bolt"}, ["Bolt Logistics"]),
        ({"q": "OBAL"}, ["Cobalt Foods"]),
        ({"q": "FREIGHT"}, ["Bolt Logistics"]),
        ({"lifecycle": "at_risk"}, ["Bolt Logistics"]),
        ({"tier": "enterprise"}, ["Acme Robotics"]),
        ({"segment": "Logistics"}, ["Bolt Logistics"]),
        ({"country": "fr"}, ["Cobalt Foods"]),
        ({"csm": "carla.csm"}, ["Acme Robotics"]),
        ({"owner": "rita.rep"}, ["Acme Robotics"]),
        ({"health": "red"}, ["Bolt Logistics"]),
        ({"health": "none"}, ["Cobalt Foods"]),
        ({"renewal_within": "30"}, ["Acme Robotics"]),
        ({"renewal_within": "365"}, ["Acme Robotics", "Bolt Logistics"]),
        ({"tier": "enterprise", "lifecycle": "at_risk"}, []),
    ],
)
def test_each_filter_narrows_the_list(client, csm, accounts, query, expected):
    client.force_login(csm)

    response = client.get(URL, query)

    assert response.status_code == 200
    assert names(response) == expected


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"lifecycle": "dormant"}, "lifecycle"),
        ({"country": "XX"}, "country"),
        ({"csm": "nobody"}, "csm"),
        ({"renewal_within": "soon"}, "renewal_within"),
        ({"renewal_within": "-3"}, "renewal_within"),
        ({"health": "purple"}, "health"),
        ({"sort": "secret"}, "sort"),
        ({"per_page": "7"}, "per_page"),
        ({"q": "a\x00b"}, "q"),
    ],
)
def test_an_unknown_filter_value_is_a_400_naming_the_field(client, csm, accounts, query, field):
    client.force_login(csm)

    response = client.get(URL, query)

    assert response.status_code == 400
    assert field in response.context["form"].errors
    # The list is still there, unfiltered, so the page is usable.
    assert len(names(response)) == 3


def test_pages_hold_the_chosen_number_of_accounts(client, csm, now):
    for number in range(12):
        AccountFactory(name=f"Customer {number:02d}")
    client.force_login(csm)

    first = client.get(URL, {"per_page": "10"})
    second = client.get(URL, {"per_page": "10", "page": "2"})

    assert names(first) == [f"Customer {n:02d}" for n in range(10)]
    assert names(second) == ["Customer 10", "Customer 11"]
    assert b"per_page=10&amp;page=2" in first.content
