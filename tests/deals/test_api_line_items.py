from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from apps.deals.models import DealLineItem
from tests.factories import DealFactory, DealLineItemFactory, ProductFactory

pytestmark = pytest.mark.django_db


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user=user)
    return client


def test_rep_adds_a_line_item_that_shows_on_the_deal(rep):
    deal = DealFactory(owner=rep)
    product = ProductFactory(sku="SEATS-100")
    client = client_for(rep)

    created = client.post(
        "/api/deal-line-items/",
        {"deal": deal.pk, "product": product.pk, "quantity": 4, "unit_price": "250.00"},
        format="json",
    )

    assert created.status_code == 201, created.json()
    detail = client.get(f"/api/deals/{deal.pk}/").json()
    assert [(i["product_sku"], i["total"]) for i in detail["line_items"]] == [
        ("SEATS-100", "1000.00")
    ]


def test_bad_quantity_and_price_are_refused(rep):
    deal = DealFactory()

    response = client_for(rep).post(
        "/api/deal-line-items/",
        {"deal": deal.pk, "product": ProductFactory().pk, "quantity": 0, "unit_price": "-1"},
        format="json",
    )

    assert response.status_code == 400
    assert set(response.json()) == {"quantity", "unit_price"}
    assert not DealLineItem.objects.exists()


def test_line_items_filter_by_deal(csm):
    item = DealLineItemFactory()
    DealLineItemFactory()

    response = client_for(csm).get("/api/deal-line-items/", {"deal": item.deal_id})

    assert [i["id"] for i in response.json()["results"]] == [item.pk]


def test_rep_changes_and_removes_a_line_item(rep):
    item = DealLineItemFactory(quantity=1, deal__owner=rep)
    client = client_for(rep)

    changed = client.patch(f"/api/deal-line-items/{item.pk}/", {"quantity": 3}, format="json")
    assert changed.status_code == 200
    assert DealLineItem.objects.get(pk=item.pk).quantity == 3

    assert client.delete(f"/api/deal-line-items/{item.pk}/").status_code == 204
    assert not DealLineItem.objects.exists()


def test_csm_cannot_change_line_items(csm):
    item = DealLineItemFactory(unit_price=Decimal("10.00"))

    response = client_for(csm).patch(
        f"/api/deal-line-items/{item.pk}/", {"unit_price": "0.00"}, format="json"
    )

    assert response.status_code == 403
    assert DealLineItem.objects.get(pk=item.pk).unit_price == Decimal("10.00")
