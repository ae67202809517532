"""The deal page reads: the deal's fields, line items, account and primary contact, and
its history (stage and field changes, newest first), in a fixed number of queries."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from apps.deals import services
from apps.deals.models import Deal
from tests.deals.test_close_won import close_won
from tests.factories import (
    AccountFactory,
    ContactFactory,
    DealFactory,
    DealLineItemFactory,
    ProductFactory,
    closable_deal,
)

pytestmark = pytest.mark.django_db


def detail(deal: Deal) -> str:
    return reverse("deals:deal_detail", args=[deal.pk])


def test_the_page_shows_the_deal_its_line_items_account_and_contact(client, rep):
    account = AccountFactory(name="Globex")
    contact = ContactFactory(account=account, name="Grace Hopper", email="grace@globex.test")
    deal = DealFactory(
        owner=rep,
        account=account,
        name="Globex platform",
        amount=Decimal("12500"),
        currency="EUR",
        close_date=dt.date(2026, 12, 15),
        primary_contact=contact,
    )
    DealLineItemFactory(
        deal=deal, product=ProductFactory(name="Core platform"), quantity=5, unit_price=2500
    )
    client.force_login(rep)

    page = client.get(detail(deal)).content.decode()

    assert "<h1>Globex platform</h1>" in page
    assert "12,500.00 EUR" in page and "15 Dec 2026" in page
    assert rep.get_full_name() in page
    assert "Grace Hopper" in page and 'href="mailto:grace@globex.test"' in page
    assert "Core platform" in page
    # No account page yet: the account opens in the admin.
    assert f'href="/admin/customers/account/{account.pk}/change/">Globex</a>' in page


@pytest.mark.urls("tests.deals.account_urls")
def test_the_account_links_to_its_page_once_there_is_one(client, rep):
    deal = DealFactory(owner=rep)
    client.force_login(rep)

    page = client.get(detail(deal)).content.decode()

    assert f'href="/accounts/{deal.account_id}/">' in page


def test_the_history_lists_stage_and_field_changes_newest_first(client, rep):
    deal = closable_deal(owner=rep, name="Globex")
    services.deal_update(deal=deal, actor=rep, amount=Decimal("3000.00"), source="ui")
    close_won(deal, actor=rep)
    client.force_login(rep)

    page = client.get(detail(deal)).content.decode()

    history = page[page.index('id="history-h"') :]
    won = history.index("Negotiation → <strong>Closed won</strong>")
    amount = history.index("Amount: 2400.00 → 3000.00")
    assert won < amount
    assert "Chose us for the API." in history


def test_a_long_history_is_paginated(client, rep):
    deal = DealFactory(owner=rep, name="v0")
    for n in range(25):
        services.deal_update(deal=deal, actor=rep, name=f"v{n + 1}")
    client.force_login(rep)

    first = client.get(detail(deal)).content.decode()
    assert "Name: v24 → v25" in first and "Name: v4 → v5" not in first
    assert "history_page=2" in first
    second = client.get(detail(deal), {"history_page": 2}).content.decode()
    assert "Name: v4 → v5" in second and "Name: v24 → v25" not in second


def test_the_page_runs_the_same_queries_however_long_the_deal(client, rep):
    short = closable_deal(owner=rep)
    long = closable_deal(owner=rep)
    for n in range(8):
        DealLineItemFactory(deal=long)
        services.deal_update(deal=long, actor=rep, name=f"Long v{n}")
    client.force_login(rep)
    client.get(detail(short))  # warm the permission and content-type caches

    with CaptureQueriesContext(connection) as few:
        assert client.get(detail(short)).status_code == 200
    with CaptureQueriesContext(connection) as many:
        assert client.get(detail(long)).status_code == 200

    assert len(many) == len(few)
    assert len(many) <= 20


def test_an_unknown_deal_is_not_found(client, rep):
    client.force_login(rep)
    assert client.get(reverse("deals:deal_detail", args=[999999])).status_code == 404


def test_someone_without_access_to_deals_is_refused(client, outsider):
    deal = DealFactory()
    client.force_login(outsider)
    assert client.get(detail(deal)).status_code == 403
