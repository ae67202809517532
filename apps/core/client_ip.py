"""The client's address, as every per-address limit counts it: failed logins (django-axes),
API request rates (DRF) and the public pages' posts (django-ratelimit).

Behind ``TRUSTED_PROXY_COUNT`` reverse proxies, REMOTE_ADDR is the nearest proxy and the
client is the address those proxies appended to X-Forwarded-For: the N-th from the right.
Addresses further left were written by the client and could be anything. With no proxy
(the default) the header is ignored.
"""

from django.conf import settings
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str:
    proxies = settings.TRUSTED_PROXY_COUNT
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if proxies and forwarded:
        addresses = [part.strip() for part in forwarded.split(",") if part.strip()]
        if addresses:
            return addresses[-min(proxies, len(addresses))]
    return request.META.get("REMOTE_ADDR", "")
