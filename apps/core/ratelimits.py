"""Rate-limit keys for public pages (django-ratelimit), shared by the apps that have them."""

from django.conf import settings
from django.http import HttpRequest


def path_token_key(group: str, request: HttpRequest) -> str:
    """Count per signed token in the URL (``<str:token>``), so one link cannot be hammered
    from many addresses."""
    return request.resolver_match.kwargs.get("token", "")[:200]


def per_ip_rate(group: str, request: HttpRequest) -> str:
    """The posts one address may make (read at each request, so tests and settings apply)."""
    return settings.PUBLIC_POST_RATE_PER_IP


def per_token_rate(group: str, request: HttpRequest) -> str:
    return settings.PUBLIC_POST_RATE_PER_TOKEN
