"""Failed logins are counted and throttled by django-axes; this module says what a
client that is locked out gets, and makes the lockout reach DRF views.

Axes' authentication backend refuses ``authenticate()`` for a username and address with
too many recent failures, so every login form and API login view that authenticates is
covered, whatever view it is. Its middleware turns the refusal into the response below:
a 429 with ``Retry-After``, JSON on API paths and a page elsewhere.
"""

import math
from datetime import timedelta

from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db.models import Sum
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from apps.core import clock
from apps.core.client_ip import client_ip
from apps.core.middleware import API_PREFIX


def cool_off_seconds() -> int:
    return int(settings.AXES_COOLOFF_TIME.total_seconds())


def lockout_response(request: HttpRequest, original_response=None, credentials=None):
    """django-axes' AXES_LOCKOUT_CALLABLE. The attempt that gets this answer restarted
    the cool-off (AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT), so the wait is the
    whole cool-off from now."""
    seconds = cool_off_seconds()
    minutes = max(1, math.ceil(seconds / 60))
    by_address = getattr(request, "login_capped_address", False)
    whom = "" if by_address else "for this username "
    message = (
        f"Too many failed login attempts {whom}from your address. "
        f"Try again in {minutes} minute{'s' if minutes != 1 else ''}."
    )
    response: HttpResponse
    if request.path_info.startswith(API_PREFIX):
        response = JsonResponse({"detail": message}, status=429)
    else:
        response = render(
            request,
            "registration/locked_out.html",
            {"minutes": minutes, "by_address": by_address},
            status=429,
        )
    response["Retry-After"] = str(seconds)
    return response


class AddressFailureCap:
    """An authentication backend, after axes' and before the one that checks passwords: it
    refuses every login from an address with LOGIN_ADDRESS_FAILURE_LIMIT failed attempts
    within the cool-off, whatever the usernames. It reads the attempts axes records, so the
    count, its expiry and its reset on success are axes' own."""

    def authenticate(self, request, **credentials):
        if request is None:
            return None
        django_request = getattr(request, "_request", request)
        since = clock.now() - settings.AXES_COOLOFF_TIME
        failures = AccessAttempt.objects.filter(
            ip_address=client_ip(django_request), attempt_time__gte=since
        ).aggregate(total=Sum("failures_since_start"))["total"]
        if (failures or 0) < settings.LOGIN_ADDRESS_FAILURE_LIMIT:
            return None
        for marked in {id(request): request, id(django_request): django_request}.values():
            marked.axes_locked_out = True  # axes' middleware answers with lockout_response
            marked.login_capped_address = True
        # No get_user(): a backend without one never becomes a session's backend.
        raise PermissionDenied("Too many failed logins from this address.")


def login_records_prune() -> dict[str, int]:
    """Forget login records that no longer count: attempts whose cool-off has passed, and
    the log of logins (and of failures, if kept) older than LOGIN_RECORDS_DAYS."""
    now = clock.now()
    attempts, _ = AccessAttempt.objects.filter(
        attempt_time__lt=now - settings.AXES_COOLOFF_TIME
    ).delete()
    logged_before = now - timedelta(days=settings.LOGIN_RECORDS_DAYS)
    logins, _ = AccessLog.objects.filter(attempt_time__lt=logged_before).delete()
    failures, _ = AccessFailureLog.objects.filter(attempt_time__lt=logged_before).delete()
    return {"attempts": attempts, "logins": logins, "failures": failures}


def lockout_reaches_the_django_request(sender, request=None, **kwargs) -> None:
    """DRF views authenticate with their own Request wrapping Django's; axes marks the
    lockout on the object it was given, which the middleware never sees. Mark Django's
    request too (a receiver of axes' ``user_locked_out``)."""
    django_request = getattr(request, "_request", None)
    if django_request is not None:
        django_request.axes_locked_out = True
        django_request.axes_credentials = getattr(request, "axes_credentials", None)
