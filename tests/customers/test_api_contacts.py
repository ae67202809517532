import pytest
from rest_framework.test import APIClient

from apps.customers.models import Contact
from tests.factories import AccountFactory, ContactFactory

pytestmark = pytest.mark.django_db


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user=user)
    return client


def test_list_filters_by_account(csm):
    account = AccountFactory()
    ContactFactory(account=account, name="Pat Primary", is_primary=True)
    ContactFactory(name="Someone Else")

    response = client_for(csm).get("/api/contacts/", {"account": account.pk})

    assert response.status_code == 200
    assert [c["name"] for c in response.json()["results"]] == ["Pat Primary"]


def test_csm_adds_a_contact(csm):
    account = AccountFactory(csm=csm)

    response = client_for(csm).post(
        "/api/contacts/",
        {"account": account.pk, "name": "Pat", "email": "pat@customer.test", "is_primary": True},
        format="json",
    )

    assert response.status_code == 201
    assert account.contacts.get().email == "pat@customer.test"


def test_second_primary_contact_is_refused(csm):
    account = AccountFactory(csm=csm)
    ContactFactory(account=account, is_primary=True)

    response = client_for(csm).post(
        "/api/contacts/",
        {"account": account.pk, "name": "Sam", "email": "sam@customer.test", "is_primary": True},
        format="json",
    )

    assert response.status_code == 400
    assert "already has a primary contact" in response.json()["is_primary"][0]
    assert account.contacts.count() == 1


def test_making_another_contact_primary_is_refused(csm):
    account = AccountFactory(csm=csm)
    ContactFactory(account=account, is_primary=True)
    other = ContactFactory(account=account, is_primary=False)

    response = client_for(csm).patch(
        f"/api/contacts/{other.pk}/", {"is_primary": True}, format="json"
    )

    assert response.status_code == 400
    assert list(response.json()) == ["is_primary"]
    other.refresh_from_db()
    assert not other.is_primary


def test_primary_contact_can_be_edited_and_stays_primary(csm):
    contact = ContactFactory(is_primary=True, title="CTO", account=AccountFactory(csm=csm))

    response = client_for(csm).patch(
        f"/api/contacts/{contact.pk}/", {"title": "CEO", "is_primary": True}, format="json"
    )

    assert response.status_code == 200
    contact.refresh_from_db()
    assert (contact.title, contact.is_primary) == ("CEO", True)


def test_bad_email_and_unknown_account_are_refused(csm):
    response = client_for(csm).post(
        "/api/contacts/",
        {"account": 987654, "name": "Sam", "email": "not-an-email"},
        format="json",
    )

    assert response.status_code == 400
    assert set(response.json()) == {"account", "email"}
    assert not Contact.objects.exists()


def test_update_with_bad_email_changes_nothing(csm):
    contact = ContactFactory(email="pat@customer.test")

    response = client_for(csm).patch(
        f"/api/contacts/{contact.pk}/", {"email": "pat at customer"}, format="json"
    )

    assert response.status_code == 400
    assert list(response.json()) == ["email"]
    contact.refresh_from_db()
    assert contact.email == "pat@customer.test"
