"""The accounts pages read a fixed number of queries however many rows they show."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from apps.core import clock
from apps.workspace.services import account_note_add
from tests.factories import AccountFactory, ContactFactory, TaskFactory, UserFactory
from tests.workspace.conftest import NOW, contract, health

pytestmark = pytest.mark.django_db


def queries(client, url: str, **params) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, params)
    assert response.status_code == 200
    return len(captured)


def customers(count: int) -> None:
    for number in range(count):
        account = AccountFactory(
            csm=UserFactory(role="CSM"), owner=UserFactory(role="Sales Rep"), segment="Retail"
        )
        contract(account, amount=f"{1000 + number}", close_date=dt.date(2026, 5, 1))
        health(account, score=50 + number, band="yellow")


def test_the_list_reads_as_many_queries_for_30_rows_as_for_1(client, cs_manager, now):
    client.force_login(cs_manager)
    url = reverse("workspace:account_list")
    customers(1)
    client.get(url)  # the session and permission caches warm up alike for both
    one = queries(client, url, per_page=30, sort="-arr")
    customers(29)

    thirty = queries(client, url, per_page=30, sort="-arr")

    assert 0 < thirty == one


def test_the_account_page_reads_as_many_queries_for_many_rows_as_for_few(client, admin_user):
    account = AccountFactory()
    client.force_login(admin_user)
    url = reverse("workspace:account_detail", args=[account.pk])

    def grow(count: int) -> None:
        for number in range(count):
            ContactFactory(account=account)
            TaskFactory(account=account, title=f"Task {number}")
            done = TaskFactory(account=account, title=f"Done {number}", status="done")
            done.__class__.objects.filter(pk=done.pk).update(
                completed_at=NOW + dt.timedelta(minutes=number)
            )
            with clock.frozen(NOW + dt.timedelta(minutes=number)):
                account_note_add(account=account, actor=admin_user, body=f"Note {number}")
            contract(account, amount="100", close_date=dt.date(2026, 1, 1))

    grow(1)
    client.get(url)
    few = queries(client, url)
    grow(30)

    many = queries(client, url)

    assert 0 < many == few
