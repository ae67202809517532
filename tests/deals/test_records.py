"""A closed deal is a record: its commercial fields and line items refuse changes through
every door (services, API, admin) with a 409 that says to reopen first; every change to
a deal's fields is audited; the close date is never in the future."""

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse

from apps.core import clock
from apps.core.errors import Conflict, ValidationFailed
from apps.deals import services
from apps.deals.models import Deal, DealFieldChange, DealLineItem, StageChange
from tests.deals.test_close_won import close_won
from tests.factories import ProductFactory, UserFactory, WinReasonFactory, closable_deal

pytestmark = pytest.mark.django_db


@pytest.fixture
def won(rep):
    deal = closable_deal(owner=rep, name="Globex platform")
    Deal.objects.filter(pk=deal.pk).update(amount=Decimal("58200.00"))
    deal.refresh_from_db()
    close_won(deal, actor=rep)
    deal.refresh_from_db()
    return deal


def snapshot(deal: Deal):
    deal.refresh_from_db()
    return (
        deal.amount,
        deal.currency,
        deal.close_date,
        deal.win_reason_id,
        sorted(deal.line_items.values_list("product_id", "quantity", "unit_price")),
        StageChange.objects.filter(deal=deal).count(),
        DealFieldChange.objects.filter(deal=deal).count(),
    )


def test_the_api_refuses_to_change_a_won_deals_amount_and_line_items(client, won, rep):
    before = snapshot(won)
    client.force_login(rep)
    response = client.patch(
        f"/api/deals/{won.pk}/", {"amount": "1.00"}, content_type="application/json"
    )
    assert response.status_code == 409
    assert "Reopen the deal first" in response.json()["detail"]
    item = won.line_items.first()
    assert client.delete(f"/api/deal-line-items/{item.pk}/").status_code == 409
    response = client.patch(
        f"/api/deal-line-items/{item.pk}/", {"quantity": 9}, content_type="application/json"
    )
    assert response.status_code == 409
    response = client.post(
        "/api/deal-line-items/",
        {"deal": won.pk, "product": ProductFactory().pk, "quantity": 1, "unit_price": "1.00"},
        content_type="application/json",
    )
    assert response.status_code == 409
    assert snapshot(won) == before


def test_the_name_of_a_won_deal_may_still_change_and_is_audited(client, won, rep):
    client.force_login(rep)
    response = client.patch(
        f"/api/deals/{won.pk}/", {"name": "Globex platform 2027"}, content_type="application/json"
    )
    assert response.status_code == 200
    [change] = DealFieldChange.objects.filter(deal=won)
    assert (change.field, change.old_value, change.new_value) == (
        "name",
        "Globex platform",
        "Globex platform 2027",
    )
    assert (change.actor, change.source) == (rep, "api")
    listed = client.get(f"/api/deals/{won.pk}/field-changes/").json()["results"]
    assert listed[0]["new_value"] == "Globex platform 2027"


def test_services_refuse_too_and_a_reopened_deal_can_be_changed(won):
    sales_manager = UserFactory(username="sam", role="Sales Manager")
    with pytest.raises(Conflict):
        services.deal_update(deal=won, actor=None, amount=Decimal("1"))
    with pytest.raises(Conflict):
        services.line_item_remove(item=won.line_items.first(), actor=None)
    services.deal_reopen(deal=won, actor=sales_manager, source="api", reason="Wrong amount")
    won.refresh_from_db()
    services.deal_update(deal=won, actor=sales_manager, source="api", amount=Decimal("60000"))
    change = DealFieldChange.objects.get(deal=won, field="amount")
    assert (change.old_value, change.new_value) == ("58200.00", "60000")


def test_open_deal_changes_and_line_items_are_audited(client, rep):
    deal = closable_deal(owner=rep)
    client.force_login(rep)
    client.patch(f"/api/deals/{deal.pk}/", {"amount": "3000.00"}, content_type="application/json")
    product = ProductFactory(sku="ANL")
    response = client.post(
        "/api/deal-line-items/",
        {"deal": deal.pk, "product": product.pk, "quantity": 2, "unit_price": "400.00"},
        content_type="application/json",
    )
    assert response.status_code == 201
    item = DealLineItem.objects.get(pk=response.json()["id"])
    client.delete(f"/api/deal-line-items/{item.pk}/")
    changes = list(DealFieldChange.objects.filter(deal=deal).values_list("field", "new_value"))
    assert changes == [
        ("amount", "3000.00"),
        ("line_items", "added 2 × ANL at 400.00"),
        ("line_items", ""),
    ]
    removed = DealFieldChange.objects.filter(deal=deal).last()
    assert removed.old_value == "removed 2 × ANL at 400.00"


def test_the_admin_shows_a_won_deals_record_read_only_and_refuses_changes(client, won, admin_user):
    client.force_login(admin_user)
    url = reverse("admin:deals_deal_change", args=[won.pk])
    page = client.get(url).content.decode()
    assert 'name="amount"' not in page  # shown, not an input
    assert 'name="line_items-0-quantity"' not in page
    before = snapshot(won)
    client.post(
        url,
        {
            "name": won.name,
            "account": won.account_id,
            "owner": won.owner_id,
            "kind": won.kind,
            "pipeline": won.pipeline,
            "amount": "1.00",
            "line_items-TOTAL_FORMS": "0",
            "line_items-INITIAL_FORMS": "0",
        },
    )
    assert snapshot(won)[:5] == before[:5]


def test_the_admin_edits_an_open_deals_line_items_through_the_service(client, admin_user):
    deal = closable_deal()
    item = deal.line_items.first()
    client.force_login(admin_user)
    url = reverse("admin:deals_deal_change", args=[deal.pk])
    response = client.post(
        url,
        {
            "name": deal.name,
            "account": deal.account_id,
            "kind": deal.kind,
            "pipeline": deal.pipeline,
            "amount": deal.amount,
            "currency": deal.currency,
            "term_months": deal.term_months,
            "close_date": deal.close_date.isoformat(),
            "line_items-TOTAL_FORMS": "1",
            "line_items-INITIAL_FORMS": "1",
            "line_items-0-id": item.pk,
            "line_items-0-deal": deal.pk,
            "line_items-0-product": item.product_id,
            "line_items-0-quantity": "5",
            "line_items-0-unit_price": item.unit_price,
        },
    )
    assert response.status_code == 302
    item.refresh_from_db()
    assert item.quantity == 5
    change = DealFieldChange.objects.get(deal=deal, field="line_items")
    assert (change.source, change.actor) == ("admin", admin_user)
    assert change.new_value.startswith("5 × ")


def test_a_close_won_date_cannot_be_in_the_future_and_defaults_to_today(rep):
    deal = closable_deal(owner=rep, close_date=dt.date(2027, 3, 1))
    tomorrow = clock.now().date() + dt.timedelta(days=2)
    with pytest.raises(ValidationFailed) as refused:
        close_won(deal, actor=rep, close_date=tomorrow)
    assert "close_date" in refused.value.errors
    deal.refresh_from_db()
    assert deal.stage == "negotiation"
    close_won(deal, actor=rep)
    deal.refresh_from_db()
    assert deal.close_date == services.local_today(rep)


def test_the_api_close_date_in_the_future_is_a_400_naming_it(client, rep):
    deal = closable_deal(owner=rep)
    client.force_login(rep)
    future = (clock.now().date() + dt.timedelta(days=10)).isoformat()
    response = client.post(
        f"/api/deals/{deal.pk}/transitions/close_won/",
        {
            "win_reason": WinReasonFactory().pk,
            "win_notes": "API",
            "close_date": future,
        },
        content_type="application/json",
    )
    assert response.status_code == 400
    assert "close_date" in response.json()


def test_field_changes_cannot_be_edited_or_deleted(won):
    services.deal_update(deal=won, actor=None, name="Renamed")
    change = DealFieldChange.objects.get(deal=won)
    with pytest.raises(ValueError):
        change.save()
    with pytest.raises(ValueError):
        change.delete()


def test_someone_elses_deal_is_refused_before_the_lock_is_told(won):
    other = UserFactory(username="otto.rep", role="Sales Rep")
    with pytest.raises(Exception) as refused:
        services.deal_update(deal=won, actor=other, amount=Decimal("1"))
    assert "only its owner or a sales manager" in str(refused.value)
