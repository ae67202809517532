"""The API answers 429 with Retry-After past its request rates: per address without a
login, per user with one. The rates come from the environment and are checked there."""

import pytest
from rest_framework.test import APIClient

from tests.core.test_settings import manage

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def test_anonymous_requests_past_the_rate_get_429_with_retry_after(settings):
    settings.API_THROTTLE_ANON_RATE = "3/min"
    client = APIClient()

    statuses = [
        client.post("/api/auth/token/", {"username": "x", "password": "y"}).status_code
        for _ in range(4)
    ]

    assert statuses == [400, 400, 400, 429]
    response = client.post("/api/auth/token/", {"username": "x", "password": "y"})
    assert response.status_code == 429
    assert 0 < int(response["Retry-After"]) <= 60
    assert response.json()["detail"].startswith("Request was throttled.")


def test_each_user_has_their_own_allowance(settings, rep, csm):
    settings.API_THROTTLE_USER_RATE = "2/min"
    rick, carla = APIClient(), APIClient()
    rick.force_authenticate(rep)
    carla.force_authenticate(csm)

    assert [rick.get("/api/deals/").status_code for _ in range(3)] == [200, 200, 429]
    assert carla.get("/api/deals/").status_code == 200


def test_the_default_rates_are_generous(settings):
    assert (settings.API_THROTTLE_ANON_RATE, settings.API_THROTTLE_USER_RATE) == (
        "60/min",
        "1200/min",
    )


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"API_THROTTLE_ANON_RATE": "lots"}, "API_THROTTLE_ANON_RATE"),
        ({"API_THROTTLE_USER_RATE": "100/fortnight"}, "API_THROTTLE_USER_RATE"),
        ({"LOGIN_FAILURE_LIMIT": "0"}, "LOGIN_FAILURE_LIMIT"),
        ({"LOGIN_COOLOFF_MINUTES": "soon"}, "LOGIN_COOLOFF_MINUTES"),
    ],
)
def test_a_bad_rate_or_limit_stops_start_up_naming_the_variable(env, named):
    result = manage("check", env=env)

    assert result.returncode != 0
    assert named in result.stderr


def test_a_forged_forwarded_for_header_does_not_reset_the_allowance(settings):
    settings.API_THROTTLE_ANON_RATE = "2/min"
    client = APIClient()

    statuses = [
        client.post(
            "/api/auth/token/",
            {"username": "x", "password": "y"},
            HTTP_X_FORWARDED_FOR=f"198.51.100.{n}",
        ).status_code
        for n in range(3)
    ]

    assert statuses == [400, 400, 429]


def test_behind_a_trusted_proxy_each_client_address_has_its_own_allowance(settings):
    settings.API_THROTTLE_ANON_RATE = "1/min"
    settings.TRUSTED_PROXY_COUNT = 1
    client = APIClient()

    def post(forwarded_for: str) -> int:
        return client.post(
            "/api/auth/token/",
            {"username": "x", "password": "y"},
            HTTP_X_FORWARDED_FOR=forwarded_for,
        ).status_code

    # The proxy appends the address it saw; what the client wrote to the left is ignored.
    assert post("10.0.0.1, 203.0.113.7") == 400
    assert post("10.0.0.2, 203.0.113.7") == 429
    assert post("203.0.113.8") == 400
