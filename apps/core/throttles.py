"""The API's request rates (DRF throttles), read from settings at each request so that
the environment, and tests, set them. The address is the one every per-address limit
counts (``client_ip``): DRF's own would trust a client's X-Forwarded-For."""

from django.conf import settings
from django.core.cache import caches
from rest_framework import throttling

from apps.core.client_ip import client_ip


class CountInThrottleCache:
    """Counters go to the ``throttles`` cache (see settings), looked up at each request."""

    @property
    def cache(self):
        return caches["throttles"]


class AnonRateThrottle(CountInThrottleCache, throttling.AnonRateThrottle):
    """Requests without a login, counted per address."""

    def get_rate(self) -> str:
        return settings.API_THROTTLE_ANON_RATE

    def get_ident(self, request) -> str:
        return client_ip(request)


class UserRateThrottle(CountInThrottleCache, throttling.UserRateThrottle):
    """Requests of a signed-in user (session or token), counted per user."""

    def get_rate(self) -> str:
        return settings.API_THROTTLE_USER_RATE

    def get_ident(self, request) -> str:
        return client_ip(request)
