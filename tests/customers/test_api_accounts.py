import pytest
from rest_framework.test import APIClient

from apps.customers.models import Account
from tests.factories import AccountFactory

pytestmark = pytest.mark.django_db


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user=user)
    return client


def test_list_filters_by_tier_and_searches_by_name(csm):
    AccountFactory(name="Acme Robotics", tier=Account.Tier.ENTERPRISE)
    AccountFactory(name="Acme Bakery", tier=Account.Tier.SMB)
    AccountFactory(name="Globex", tier=Account.Tier.ENTERPRISE)

    response = client_for(csm).get("/api/accounts/", {"tier": "enterprise", "search": "acme"})

    assert response.status_code == 200
    assert [a["name"] for a in response.json()["results"]] == ["Acme Robotics"]


def test_list_is_paginated_and_ordered(csm):
    for name in ["Delta", "Alpha", "Charlie", "Bravo", "Echo"]:
        AccountFactory(name=name)
    client = client_for(csm)

    first = client.get("/api/accounts/", {"page_size": 2, "ordering": "-name"}).json()
    second = client.get(first["next"]).json()

    assert first["count"] == 5
    assert [a["name"] for a in first["results"]] == ["Echo", "Delta"]
    assert [a["name"] for a in second["results"]] == ["Charlie", "Bravo"]


def test_rep_creates_an_account(rep):
    response = client_for(rep).post(
        "/api/accounts/",
        {"name": "Initech", "timezone": "America/Chicago", "country": "US", "owner": rep.pk},
        format="json",
    )

    assert response.status_code == 201, response.json()
    account = Account.objects.get(pk=response.json()["id"])
    assert (account.name, account.timezone, account.owner) == ("Initech", "America/Chicago", rep)
    assert response.json()["owner_username"] == "rick"


def test_unknown_timezone_is_refused_naming_the_field(rep):
    response = client_for(rep).post(
        "/api/accounts/", {"name": "Initech", "timezone": "Mars/Olympus_Mons"}, format="json"
    )

    assert response.status_code == 400
    assert list(response.json()) == ["timezone"]
    assert "IANA" in response.json()["timezone"][0]
    assert not Account.objects.exists()


def test_wrong_types_are_refused_field_by_field(rep):
    response = client_for(rep).post(
        "/api/accounts/",
        {"name": "Initech", "tier": "platinum", "owner": "rick", "csm": 987654},
        format="json",
    )

    assert response.status_code == 400
    assert set(response.json()) == {"tier", "owner", "csm"}
    assert not Account.objects.exists()


def test_update_with_bad_country_code_changes_nothing(rep):
    account = AccountFactory(name="Initech", country="DE", segment="manufacturing")

    response = client_for(rep).patch(
        f"/api/accounts/{account.pk}/",
        {"country": "de", "segment": "retail"},
        format="json",
    )

    assert response.status_code == 400
    assert "ISO 3166" in response.json()["country"][0]
    account.refresh_from_db()
    assert (account.country, account.segment) == ("DE", "manufacturing")


def test_update_saves_valid_changes(cs_manager):
    account = AccountFactory(timezone="Europe/Berlin")

    response = client_for(cs_manager).patch(
        f"/api/accounts/{account.pk}/",
        {"timezone": "Asia/Tokyo", "lifecycle_status": "onboarding"},
        format="json",
    )

    assert response.status_code == 200
    account.refresh_from_db()
    assert (account.timezone, account.lifecycle_status) == ("Asia/Tokyo", "onboarding")


def test_csm_may_read_but_not_create_accounts(csm):
    client = client_for(csm)

    assert client.get("/api/accounts/").status_code == 200
    assert client.post("/api/accounts/", {"name": "Initech"}, format="json").status_code == 403
    assert not Account.objects.exists()


def test_user_without_a_role_cannot_list_accounts(outsider):
    AccountFactory()
    assert client_for(outsider).get("/api/accounts/").status_code == 403


def test_anonymous_request_is_refused():
    AccountFactory()
    response = APIClient().get("/api/accounts/")
    assert response.status_code == 401
    assert "results" not in response.json()
