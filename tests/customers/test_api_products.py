import pytest
from rest_framework.test import APIClient

from apps.customers.models import Product
from tests.factories import ProductFactory

pytestmark = pytest.mark.django_db


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user=user)
    return client


def test_list_searches_by_sku_and_filters_active(rep):
    ProductFactory(sku="ANALYTICS-PRO", name="Analytics Pro")
    ProductFactory(sku="ANALYTICS-OLD", name="Analytics Legacy", active=False)
    ProductFactory(sku="SEATS", name="Seats")

    response = client_for(rep).get("/api/products/", {"search": "analytics", "active": "true"})

    assert response.status_code == 200
    body = response.json()["results"]
    assert [(p["sku"], p["family_name"]) for p in body] == [("ANALYTICS-PRO", "Platform")]


def test_products_cannot_be_created_through_the_api(admin_user):
    response = client_for(admin_user).post(
        "/api/products/", {"sku": "NEW", "name": "New", "list_price": "1.00"}, format="json"
    )

    assert response.status_code == 405
    assert not Product.objects.exists()
