import pytest
from rest_framework.test import APIClient

from tests.factories import DealFactory

pytestmark = pytest.mark.django_db


def test_token_from_username_and_password_authenticates_api_calls(rep):
    DealFactory(name="Acme platform")
    client = APIClient()

    token = client.post(
        "/api/auth/token/", {"username": "rick", "password": "pass-for-tests-1"}, format="json"
    )
    assert token.status_code == 200
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.json()['token']}")
    deals = client.get("/api/deals/")

    assert deals.status_code == 200
    assert [d["name"] for d in deals.json()["results"]] == ["Acme platform"]


def test_wrong_password_gets_no_token(rep):
    response = APIClient().post(
        "/api/auth/token/", {"username": "rick", "password": "guess"}, format="json"
    )

    assert response.status_code == 400
    assert "token" not in response.json()


def test_invalid_token_is_refused(rep):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")

    response = client.get("/api/deals/")

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    assert response.json() == {"detail": "Invalid token."}


def test_anonymous_request_is_asked_to_authenticate():
    response = APIClient().get("/api/deals/")

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"


def test_session_login_works_for_the_browsable_api(rep, settings):
    # Django's test client logs in without a request, which django-axes refuses; the
    # throttling itself is tested in test_login_throttling.py.
    settings.AXES_ENABLED = False
    DealFactory()
    client = APIClient()
    assert client.login(username="rick", password="pass-for-tests-1")

    assert client.get("/api/deals/").status_code == 200
