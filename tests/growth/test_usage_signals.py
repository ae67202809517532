"""Usage snapshots: all or nothing, idempotent, and one event per upward crossing."""

import datetime as dt

import pytest
from rest_framework.test import APIClient

from apps.core.errors import ValidationFailed
from apps.core.models import DomainEvent
from apps.growth.models import UsageSnapshot, UsageThreshold
from apps.growth.services import usage_record_many
from tests.factories import AccountFactory, ProductFactory, UserFactory

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def seats():
    return ProductFactory(sku="SEATS")


def snap(account, product, day: int, used: int, licensed: int = 100) -> dict:
    return {
        "account": account.pk,
        "product": product.sku,
        "measured_at": (T0 + dt.timedelta(days=day)).isoformat(),
        "licensed_units": licensed,
        "used_units": used,
    }


def crossings():
    return list(
        DomainEvent.objects.filter(name="account.usage_threshold_crossed").values_list(
            "payload__utilisation", flat=True
        )
    )


def test_one_event_per_upward_crossing_not_per_snapshot_above(seats):
    account = AccountFactory()
    # 50 % → 85 % (crosses) → 90 % (still above) → 60 % (below) → 95 % (crosses again)
    usage_record_many(
        items=[snap(account, seats, day, used) for day, used in enumerate([50, 85, 90, 60, 95])]
    )

    assert crossings() == [85.0, 95.0]
    assert list(
        UsageSnapshot.objects.filter(crossed=True).values_list("used_units", flat=True)
    ) == [
        95,
        85,
    ]


def test_a_batch_sent_again_changes_nothing(seats):
    account = AccountFactory()
    batch = [snap(account, seats, 0, 10), snap(account, seats, 1, 81)]

    first = usage_record_many(items=batch)
    again = usage_record_many(items=batch)

    assert (first.created, first.duplicates, first.crossings) == (2, 0, 1)
    assert (again.created, again.duplicates, again.crossings) == (0, 2, 0)
    assert UsageSnapshot.objects.count() == 2 and len(crossings()) == 1


def test_a_late_snapshot_for_the_past_raises_nothing(seats):
    account = AccountFactory()
    usage_record_many(items=[snap(account, seats, 0, 50), snap(account, seats, 5, 90)])
    usage_record_many(items=[snap(account, seats, 3, 85)])  # arrives after day 5

    assert crossings() == [90.0]


def test_a_products_own_threshold(seats):
    UsageThreshold.objects.create(product=seats, percent=95)
    account = AccountFactory()
    usage_record_many(items=[snap(account, seats, 0, 90), snap(account, seats, 1, 96)])

    assert crossings() == [96.0]


def test_a_bad_row_stores_nothing_and_names_row_and_field(seats):
    account = AccountFactory()
    with pytest.raises(ValidationFailed) as refused:
        usage_record_many(
            items=[
                snap(account, seats, 0, 90),
                {**snap(account, seats, 1, 5), "used_units": -3, "product": "NOPE"},
                {**snap(account, seats, 2, 5), "measured_at": "2026-11-30T09:00:00"},
            ]
        )

    assert set(refused.value.errors) == {"1.used_units", "1.product", "2.measured_at"}
    assert "time zone" in refused.value.errors["2.measured_at"][0]
    assert not UsageSnapshot.objects.exists() and crossings() == []


def test_the_api_takes_one_or_a_batch_and_refuses_too_many(seats):
    account = AccountFactory()
    api = APIClient()
    api.force_authenticate(UserFactory(username="ada", is_superuser=True))

    one = api.post("/api/usage-snapshots/", snap(account, seats, 0, 82), format="json")
    assert one.status_code == 201 and one.json() == {"created": 1, "duplicates": 0, "crossings": 1}
    batch = [snap(account, seats, day, 50) for day in range(1, 4)]
    assert api.post("/api/usage-snapshots/", batch, format="json").json()["created"] == 3
    too_many = [snap(account, seats, day, 50) for day in range(1001)]
    refused = api.post("/api/usage-snapshots/", too_many, format="json")
    assert refused.status_code == 400 and "at most 1000" in str(refused.json())
    listed = api.get("/api/usage-snapshots/", {"account": account.pk})
    assert listed.json()["count"] == 4

    csm = UserFactory(username="cleo", role="CSM")
    api.force_authenticate(csm)
    assert (
        api.post("/api/usage-snapshots/", snap(account, seats, 9, 1), format="json").status_code
        == 403
    )


def test_impossible_moments_and_numbers_too_big_are_bad_input_not_errors(seats):
    account = AccountFactory()
    api = APIClient()
    api.force_authenticate(UserFactory(username="ada", is_superuser=True))

    refused = api.post(
        "/api/usage-snapshots/",
        [
            {**snap(account, seats, 0, 5), "measured_at": "2026-11-30T12:99:00Z"},
            {**snap(account, seats, 1, 5), "used_units": 10**21, "account": 10**30},
        ],
        format="json",
    )

    assert refused.status_code == 400
    assert set(refused.json()) == {"0.measured_at", "1.used_units", "1.account"}
    assert not UsageSnapshot.objects.exists()
