"""People make, see and revoke their API tokens on the Preferences page."""

import pytest
from django.test import Client
from rest_framework.test import APIClient

from apps.apitokens.models import ApiToken
from apps.apitokens.services import api_token_create

pytestmark = pytest.mark.django_db


def test_preferences_list_a_persons_own_tokens(client, csm, rep):
    api_token_create(user=csm, name="Reporting script")
    api_token_create(user=rep, name="Rick's laptop")
    client.force_login(csm)

    page = client.get("/notifications/preferences/").content.decode()

    assert "API tokens" in page
    assert "Reporting script" in page
    assert "Rick's laptop" not in page
    assert "never" in page  # not used yet


def test_a_new_token_is_shown_once_and_works(client, csm):
    client.force_login(csm)

    response = client.post("/api-tokens/", {"name": "Nightly export"})

    assert response.status_code == 201
    key = response.context["key"]
    assert key in response.content.decode()
    assert response["Cache-Control"].startswith("max-age=0")
    token = ApiToken.objects.get(user=csm)
    assert token.name == "Nightly export"
    assert key not in client.get("/notifications/preferences/").content.decode()
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert api.get("/api/auth/tokens/").status_code == 200


def test_a_too_long_name_makes_no_token(client, csm):
    client.force_login(csm)

    response = client.post("/api-tokens/", {"name": "x" * 101}, follow=True)

    assert "at most 100 characters" in response.content.decode()
    assert not ApiToken.objects.exists()


def test_a_person_revokes_their_token(client, csm):
    token, key = api_token_create(user=csm, name="Old script")
    client.force_login(csm)

    response = client.post(f"/api-tokens/{token.pk}/revoke/", follow=True)

    assert "The token is revoked." in response.content.decode()
    assert not ApiToken.objects.filter(pk=token.pk).exists()
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert api.get("/api/auth/tokens/").status_code == 401


def test_someone_elses_token_is_not_found(client, csm, rep):
    theirs, _ = api_token_create(user=rep, name="Rick's laptop")
    client.force_login(csm)

    assert client.post(f"/api-tokens/{theirs.pk}/revoke/").status_code == 404
    assert ApiToken.objects.filter(pk=theirs.pk).exists()


def test_revoking_needs_a_post_with_the_csrf_token(csm):
    token, _ = api_token_create(user=csm, name="Script")
    client = Client(enforce_csrf_checks=True)
    client.force_login(csm)

    assert client.get(f"/api-tokens/{token.pk}/revoke/").status_code == 405
    assert client.post(f"/api-tokens/{token.pk}/revoke/").status_code == 403
    assert ApiToken.objects.filter(pk=token.pk).exists()


def test_token_pages_need_a_login(client):
    response = client.post("/api-tokens/", {"name": "x"})

    assert response.status_code == 302
    assert "/login/" in response["Location"]
