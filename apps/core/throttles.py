"""The API's request rates (DRF throttles), read from settings at each request so that
the environment, and tests, set them."""

from django.conf import settings
from rest_framework import throttling


class AnonRateThrottle(throttling.AnonRateThrottle):
    """Requests without a login, counted per address."""

    def get_rate(self) -> str:
        return settings.API_THROTTLE_ANON_RATE


class UserRateThrottle(throttling.UserRateThrottle):
    """Requests of a signed-in user (session or token), counted per user."""

    def get_rate(self) -> str:
        return settings.API_THROTTLE_USER_RATE
