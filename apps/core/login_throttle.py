"""Failed logins are counted and throttled by django-axes; this module says what a
client that is locked out gets, and makes the lockout reach DRF views.

Axes' authentication backend refuses ``authenticate()`` for a username and address with
too many recent failures, so every login form and API login view that authenticates is
covered, whatever view it is. Its middleware turns the refusal into the response below:
a 429 with ``Retry-After``, JSON on API paths and a page elsewhere.
"""

import math

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from apps.core.middleware import API_PREFIX


def cool_off_seconds() -> int:
    return int(settings.AXES_COOLOFF_TIME.total_seconds())


def lockout_response(request: HttpRequest, original_response=None, credentials=None):
    """django-axes' AXES_LOCKOUT_CALLABLE. The attempt that gets this answer restarted
    the cool-off (AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT), so the wait is the
    whole cool-off from now."""
    seconds = cool_off_seconds()
    minutes = max(1, math.ceil(seconds / 60))
    message = (
        "Too many failed login attempts for this username from your address. "
        f"Try again in {minutes} minute{'s' if minutes != 1 else ''}."
    )
    response: HttpResponse
    if request.path_info.startswith(API_PREFIX):
        response = JsonResponse({"detail": message}, status=429)
    else:
        response = render(request, "registration/locked_out.html", {"minutes": minutes}, status=429)
    response["Retry-After"] = str(seconds)
    return response


def lockout_reaches_the_django_request(sender, request=None, **kwargs) -> None:
    """DRF views authenticate with their own Request wrapping Django's; axes marks the
    lockout on the object it was given, which the middleware never sees. Mark Django's
    request too (a receiver of axes' ``user_locked_out``)."""
    django_request = getattr(request, "_request", None)
    if django_request is not None:
        django_request.axes_locked_out = True
        django_request.axes_credentials = getattr(request, "axes_credentials", None)
