"""API tokens over the API: obtained with a password, stored hashed, expiring, listed and
revoked by their owner."""

import datetime as dt

import pytest
import time_machine
from django.utils import timezone
from rest_framework.test import APIClient

from apps.apitokens.models import ApiToken
from apps.apitokens.services import api_token_create

pytestmark = pytest.mark.django_db


def obtain(username: str = "carla", **extra) -> dict:
    response = APIClient().post(
        "/api/auth/token/",
        {"username": username, "password": "pass-for-tests-1", **extra},
        format="json",
    )
    assert response.status_code == 200, response.content
    return response.json()


def client_with(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def test_a_token_comes_with_its_expiry_and_name(csm, settings):
    before = timezone.now()

    body = obtain(name="Reporting script")

    assert set(body) == {"token", "expiry", "name"}
    assert body["name"] == "Reporting script"
    expiry = dt.datetime.fromisoformat(body["expiry"])
    assert before + dt.timedelta(days=settings.API_TOKEN_TTL_DAYS) <= expiry
    assert expiry <= timezone.now() + dt.timedelta(days=settings.API_TOKEN_TTL_DAYS)


def test_a_token_without_a_name_gets_a_plain_one(csm):
    assert obtain()["name"] == "API token"


def test_only_a_digest_of_the_key_is_stored(csm):
    key = obtain()["token"]

    token = ApiToken.objects.get(user=csm)
    stored = [str(value) for value in token.__dict__.values()]
    assert key not in stored
    assert token.digest != key and len(token.digest) == 128


def test_an_expired_token_is_refused(csm):
    key = obtain()["token"]
    assert client_with(key).get("/api/queues/").status_code == 200

    with time_machine.travel(timezone.now() + dt.timedelta(days=91), tick=False):
        response = client_with(key).get("/api/queues/")

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"


def test_a_revoked_token_is_refused(csm):
    key = obtain()["token"]
    client = client_with(key)
    token_id = client.get("/api/auth/tokens/").json()["results"][0]["id"]

    assert client.delete(f"/api/auth/tokens/{token_id}/").status_code == 204

    assert client.get("/api/queues/").status_code == 401
    assert not ApiToken.objects.filter(pk=token_id).exists()


def test_people_list_their_own_tokens_only(csm, rep):
    api_token_create(user=csm, name="Laptop")
    api_token_create(user=rep, name="Rick's script")
    key = obtain(name="CI")["token"]

    response = client_with(key).get("/api/auth/tokens/")

    assert response.status_code == 200
    rows = response.json()["results"]
    assert [row["name"] for row in rows] == ["CI", "Laptop"]
    assert set(rows[0]) == {"id", "name", "created", "expiry", "last_used_at"}


def test_someone_elses_token_cannot_be_revoked(csm, rep):
    theirs, _ = api_token_create(user=rep, name="Rick's script")
    key = obtain()["token"]

    response = client_with(key).delete(f"/api/auth/tokens/{theirs.pk}/")

    assert response.status_code == 404
    assert ApiToken.objects.filter(pk=theirs.pk).exists()


def test_last_use_is_recorded_at_most_once_a_minute(csm, django_assert_num_queries):
    token, key = api_token_create(user=csm, name="Script")
    start = timezone.now()
    client = client_with(key)

    with time_machine.travel(start, tick=False):
        client.get("/api/auth/tokens/")
    token.refresh_from_db()
    assert token.last_used_at == start

    # find the token and its user, count and list the tokens: no write
    with (
        time_machine.travel(start + dt.timedelta(seconds=30), tick=False),
        django_assert_num_queries(3),
    ):
        client.get("/api/auth/tokens/")
    token.refresh_from_db()
    assert token.last_used_at == start

    with time_machine.travel(start + dt.timedelta(minutes=2), tick=False):
        client.get("/api/auth/tokens/")
    token.refresh_from_db()
    assert token.last_used_at == start + dt.timedelta(minutes=2)


def test_an_inactive_users_token_is_refused(csm):
    _, key = api_token_create(user=csm, name="Script")
    csm.is_active = False
    csm.save()

    assert client_with(key).get("/api/auth/tokens/").status_code == 401


def test_listing_tokens_needs_authentication():
    assert APIClient().get("/api/auth/tokens/").status_code == 401
