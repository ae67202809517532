"""Rate-limit keys for public pages (django-ratelimit), shared by the apps that have them."""

from django.conf import settings
from django.http import HttpRequest


def path_token_key(group: str, request: HttpRequest) -> str:
    """Count per link (the signed token in the URL, ``<str:token>``), so one link cannot be
    hammered from many addresses. The key is the token's payload (what it names), not
    the whole token: the same invitation signed again at another second is the same
    link."""
    token = request.resolver_match.kwargs.get("token", "")
    return token.split(":", 1)[0][:200]


def per_ip_rate(group: str, request: HttpRequest) -> str:
    """The posts one address may make (read at each request, so tests and settings apply)."""
    return settings.PUBLIC_POST_RATE_PER_IP


def per_token_rate(group: str, request: HttpRequest) -> str:
    return settings.PUBLIC_POST_RATE_PER_TOKEN
