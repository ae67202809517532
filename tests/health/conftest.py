"""Health tests: the inputs of each factor, made the way the product makes them."""

import datetime as dt

import pytest

from apps.core import clock
from apps.customers.models import Account, Product
from apps.growth.models import UsageSnapshot
from apps.queues.models import Task
from apps.surveys.models import Invitation, Response, Survey, band_of
from tests.factories import (
    AccountFactory,
    ContactFactory,
    ProductFactory,
    QueueFactory,
    TaskFactory,
)

NOW = dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.UTC)


@pytest.fixture
def now():
    with clock.frozen(NOW) as frozen:
        yield frozen


def nps_answer(account: Account, score: int, *, days_ago: int = 0) -> Response:
    survey = Survey.objects.get(slug="nps")
    contact = ContactFactory(account=account)
    at = NOW - dt.timedelta(days=days_ago)
    invitation = Invitation.objects.create(
        survey=survey,
        contact=contact,
        account=account,
        status="answered",
        created_at=at,
        expires_at=at + dt.timedelta(days=30),
    )
    return Response.objects.create(
        invitation=invitation,
        survey=survey,
        kind="nps",
        score=score,
        band=band_of("nps", score),
        answered_at=at,
        account=account,
        contact=contact,
    )


def open_task(account: Account, *, due_in_days: float, queue: str = "onboarding") -> Task:
    return TaskFactory(
        account=account,
        queue=QueueFactory(name=queue.title(), slug=queue),
        due_at=NOW + dt.timedelta(days=due_in_days),
    )


def done_task(account: Account, *, days_ago: int) -> Task:
    return TaskFactory(
        account=account,
        queue=QueueFactory(name="Onboarding", slug="onboarding"),
        status=Task.Status.DONE,
        completed_at=NOW - dt.timedelta(days=days_ago),
    )


def usage(account: Account, *, used: int, licensed: int, sku: str = "SEAT", days_ago: int = 0):
    product = Product.objects.filter(sku=sku).first() or ProductFactory(sku=sku)
    return UsageSnapshot.objects.create(
        account=account,
        product=product,
        measured_at=NOW - dt.timedelta(days=days_ago),
        used_units=used,
        licensed_units=licensed,
    )


def customer(**fields) -> Account:
    """An active customer (health measures customers; a prospect has no score)."""
    fields.setdefault("lifecycle_status", Account.Lifecycle.ACTIVE)
    return AccountFactory(**fields)


def customers(n: int) -> list[Account]:
    return [customer() for _ in range(n)]
