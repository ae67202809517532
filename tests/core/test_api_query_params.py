"""Query parameters that mean nothing are refused with the parameter named, instead of
being ignored (a bare list) or reaching the database."""

import pytest
from rest_framework.test import APIClient

from tests.factories import AccountFactory, NotificationFactory

pytestmark = pytest.mark.django_db


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user=user)
    return client


def test_unread_must_be_true_or_false(csm):
    NotificationFactory(recipient=csm, title="Overdue: Kickoff call")

    response = client_for(csm).get("/api/notifications/", {"unread": "maybe"})

    assert response.status_code == 400
    assert list(response.json()) == ["unread"]
    assert "use true or false" in response.json()["unread"][0]


@pytest.mark.parametrize(("value", "count"), [("true", 1), ("false", 0), ("1", 1), ("no", 0)])
def test_unread_takes_true_and_false(csm, value, count):
    NotificationFactory(recipient=csm, title="Overdue: Kickoff call")

    response = client_for(csm).get("/api/notifications/", {"unread": value})

    assert response.status_code == 200
    assert response.json()["count"] == count


def test_a_boolean_filter_made_from_a_model_field_is_strict_too(csm):
    response = client_for(csm).get("/api/contacts/", {"is_primary": "perhaps"})

    assert response.status_code == 400
    assert list(response.json()) == ["is_primary"]


@pytest.mark.parametrize(
    "path", ["/api/accounts/", "/api/contacts/", "/api/deals/", "/api/tasks/", "/api/products/"]
)
def test_a_nul_character_in_search_is_refused_naming_search(admin_user, path):
    AccountFactory(name="Acme")

    response = client_for(admin_user).get(path, {"search": "Ac\x00me"})

    assert response.status_code == 400
    assert list(response.json()) == ["search"]


@pytest.mark.parametrize("value", ["%", "50%s", "%(x)s"])
def test_a_percent_sign_in_a_boolean_filter_is_a_400_not_a_500(csm, value):
    response = client_for(csm).get("/api/notifications/", {"unread": value})

    assert response.status_code == 400
    assert response.json()["unread"] == [f"“{value}” is not a boolean; use true or false."]


@pytest.mark.parametrize(
    ("path", "param"),
    [
        ("/api/tasks/", "deal"),
        ("/api/tasks/", "account"),
        ("/api/deals/", "account"),
        ("/api/contacts/", "account"),
        ("/api/usage-snapshots/", "account"),
        ("/api/referrals/", "referrer_account"),
    ],
)
def test_an_id_too_large_for_any_row_is_refused_naming_it(admin_user, path, param):
    response = client_for(admin_user).get(path, {param: str(2**64)})

    assert response.status_code == 400
    assert list(response.json()) == [param]
