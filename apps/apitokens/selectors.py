"""Reads of API tokens: a person's live tokens, and the Preferences page's section."""

from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from apps.apitokens.models import ApiToken


def api_tokens_of(*, user: Any) -> QuerySet[ApiToken]:
    """``user``'s tokens that still work, newest first (an expired one gets 401 and is
    purged daily, so it is not listed)."""
    return ApiToken.objects.filter(user=user, expiry__gt=timezone.now()).order_by("-created", "-id")


def preferences_section(request: HttpRequest) -> dict[str, Any]:
    """The *API tokens* section of the Preferences page: the viewer's live tokens."""
    return {
        "api_tokens": list(api_tokens_of(user=request.user)),
        "token_ttl_days": settings.API_TOKEN_TTL_DAYS,
    }
