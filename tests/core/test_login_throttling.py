"""Guessing passwords is throttled per username and address (django-axes), on the login
page, the admin's login and any API login view: after LOGIN_FAILURE_LIMIT failures the
pair gets 429 with Retry-After until the cool-off has passed, right password or not. One
address guessing across many usernames is stopped after LOGIN_ADDRESS_FAILURE_LIMIT."""

import datetime as dt

import pytest
import time_machine
from axes.models import AccessAttempt, AccessLog
from django.contrib.auth import authenticate
from django.urls import path
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.test import APIClient
from rest_framework.views import APIView

from apps.core.login_throttle import login_records_prune
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

GOOD = "orchard-lamp-1"


@pytest.fixture(autouse=True)
def cleo(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    return UserFactory(username="cleo", role="CSM", password=GOOD, is_staff=True)


def guess(client, url: str, times: int, *, username: str = "cleo", **extra) -> list[int]:
    return [
        client.post(url, {"username": username, "password": f"guess-{n}"}, **extra).status_code
        for n in range(times)
    ]


def test_thirty_wrong_passwords_on_the_login_page_lock_the_pair_out_after_ten(client):
    statuses = guess(client, "/login/", 30)

    assert statuses[:9] == [200] * 9  # "do not match", the form again
    assert statuses[9:] == [429] * 21
    response = client.post("/login/", {"username": "cleo", "password": GOOD})
    assert response.status_code == 429  # the right password waits too
    assert response["Retry-After"] == "900"
    html = response.content.decode()
    assert "Too many login attempts" in html
    assert "Try again in 15 minutes" in html
    assert client.get("/work/").status_code == 302  # nobody was logged in


def test_failed_attempts_are_recorded_with_username_and_address(client):
    guess(client, "/login/", 3)

    attempt = AccessAttempt.objects.get()
    assert (attempt.username, attempt.ip_address, attempt.failures_since_start) == (
        "cleo",
        "127.0.0.1",
        3,
    )


def test_the_lockout_is_for_the_username_from_that_address_only(client):
    guess(client, "/login/", 10)

    # Someone else at the same address, and cleo from elsewhere, can still log in.
    UserFactory(username="dora", role="CSM", password=GOOD)
    assert client.post("/login/", {"username": "dora", "password": GOOD}).status_code == 302
    client.logout()
    elsewhere = client.post(
        "/login/", {"username": "cleo", "password": GOOD}, REMOTE_ADDR="203.0.113.9"
    )
    assert elsewhere.status_code == 302


def test_after_the_cool_off_the_right_password_works_again(client):
    start = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
    with time_machine.travel(start, tick=False):
        guess(client, "/login/", 10)
    with time_machine.travel(start + dt.timedelta(minutes=14), tick=False):
        assert client.post("/login/", {"username": "cleo", "password": GOOD}).status_code == 429
    # That attempt started the cool-off again.
    with time_machine.travel(start + dt.timedelta(minutes=14 + 16), tick=False):
        assert client.post("/login/", {"username": "cleo", "password": GOOD}).status_code == 302


def test_one_address_guessing_across_usernames_is_stopped_at_the_address_limit(client, settings):
    settings.LOGIN_ADDRESS_FAILURE_LIMIT = 12
    UserFactory(username="dora", role="CSM", password=GOOD)

    # Five guesses for each of three names: no pair reaches ten, the address reaches 12.
    statuses = [
        s for name in ("ann", "bob", "cy") for s in guess(client, "/login/", 5, username=name)
    ]
    assert statuses[:12] == [200] * 12
    assert statuses[12:] == [429] * 3

    response = client.post("/login/", {"username": "dora", "password": GOOD})
    assert response.status_code == 429  # every username, right password or not
    assert response["Retry-After"] == "900"
    assert "too many failed attempts to log in from your address" in response.content.decode()
    api = APIClient().post("/api/auth/token/", {"username": "dora", "password": GOOD})
    assert api.status_code == 429
    assert api.json()["detail"].startswith("Too many failed login attempts from your address.")
    # Another address is not affected.
    elsewhere = client.post(
        "/login/", {"username": "dora", "password": GOOD}, REMOTE_ADDR="203.0.113.9"
    )
    assert elsewhere.status_code == 302


def test_the_address_limit_counts_only_failures_within_the_cool_off(client, settings):
    settings.LOGIN_ADDRESS_FAILURE_LIMIT = 12
    start = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
    with time_machine.travel(start, tick=False):
        for name in ("ann", "bob", "cy"):
            guess(client, "/login/", 5, username=name)
    with time_machine.travel(start + dt.timedelta(minutes=16), tick=False):
        assert client.post("/login/", {"username": "cleo", "password": GOOD}).status_code == 302


def test_the_admin_login_is_throttled_with_the_same_page(client):
    statuses = guess(client, "/admin/login/", 12)

    assert statuses[:9] == [200] * 9
    assert statuses[9:] == [429] * 3
    response = client.post("/admin/login/", {"username": "cleo", "password": GOOD})
    assert response.status_code == 429
    assert "Try again in 15 minutes" in response.content.decode()


def test_the_api_token_view_answers_429_json_with_retry_after():
    client = APIClient()
    statuses = [
        client.post(
            "/api/auth/token/", {"username": "cleo", "password": f"guess-{n}"}, format="json"
        ).status_code
        for n in range(30)
    ]

    assert statuses[:9] == [400] * 9
    assert statuses[9:] == [429] * 21
    response = client.post(
        "/api/auth/token/", {"username": "cleo", "password": GOOD}, format="json"
    )
    assert response.status_code == 429
    assert response["Content-Type"] == "application/json"
    assert response["Retry-After"] == "900"
    assert response.json() == {
        "detail": "Too many failed login attempts for this username from your address. "
        "Try again in 15 minutes."
    }
    assert "token" not in response.json()


def test_limit_and_cool_off_come_from_settings(client, settings):
    settings.AXES_FAILURE_LIMIT = 3
    settings.AXES_COOLOFF_TIME = dt.timedelta(minutes=1)

    statuses = guess(client, "/login/", 4)

    assert statuses == [200, 200, 429, 429]
    response = client.post("/login/", {"username": "cleo", "password": GOOD})
    assert response["Retry-After"] == "60"
    assert "Try again in 1 minute." in response.content.decode()


class AnyApiLogin(APIView):
    """A login view of the kind an API token package brings: DRF's request, authenticate()."""

    permission_classes = [AllowAny]
    authentication_classes = []

    def post(self, request):
        user = authenticate(
            request=request,
            username=request.data.get("username"),
            password=request.data.get("password"),
        )
        if user is None:
            return Response({"detail": "Wrong username or password."}, status=400)
        return Response({"user": user.username})


urlpatterns = [path("api/other-login/", AnyApiLogin.as_view())]


@pytest.mark.urls(__name__)
def test_any_drf_login_view_is_throttled_the_same_way():
    client = APIClient()
    statuses = [
        client.post(
            "/api/other-login/", {"username": "cleo", "password": "nope"}, format="json"
        ).status_code
        for _ in range(11)
    ]

    assert statuses == [400] * 9 + [429] * 2
    response = client.post("/api/other-login/", {"username": "cleo", "password": GOOD})
    assert response.status_code == 429
    assert response["Retry-After"] == "900"
    assert "Too many failed login attempts" in response.json()["detail"]


def test_behind_a_trusted_proxy_the_lockout_is_for_the_forwarded_address(client, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    guess(client, "/login/", 10, HTTP_X_FORWARDED_FOR="203.0.113.7")

    locked = client.post(
        "/login/", {"username": "cleo", "password": GOOD}, HTTP_X_FORWARDED_FOR="203.0.113.7"
    )
    elsewhere = client.post(
        "/login/", {"username": "cleo", "password": GOOD}, HTTP_X_FORWARDED_FOR="203.0.113.8"
    )

    assert (locked.status_code, elsewhere.status_code) == (429, 302)
    assert AccessAttempt.objects.get().ip_address == "203.0.113.7"


def test_pruning_forgets_expired_attempts_and_old_login_logs_and_is_safe_twice(client):
    start = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
    with time_machine.travel(start, tick=False):
        guess(client, "/login/", 3)
        client.post("/login/", {"username": "cleo", "password": GOOD})
    with time_machine.travel(start + dt.timedelta(days=30), tick=False):
        guess(client, "/login/", 2, username="ann")
        assert login_records_prune() == {"attempts": 0, "logins": 0, "failures": 0}
    with time_machine.travel(start + dt.timedelta(days=30, minutes=16), tick=False):
        assert login_records_prune() == {"attempts": 1, "logins": 0, "failures": 0}
    with time_machine.travel(start + dt.timedelta(days=91), tick=False):
        assert AccessLog.objects.count() == 1
        assert login_records_prune() == {"attempts": 0, "logins": 1, "failures": 0}
        assert login_records_prune() == {"attempts": 0, "logins": 0, "failures": 0}
    assert not AccessAttempt.objects.exists()
