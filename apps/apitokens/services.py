"""Writes to API tokens: make one (the key is returned once), revoke, record use, purge.

Token times are wall-clock times (``timezone.now()``), not the domain clock: knox checks
expiry against the real time, and a frozen preview clock must not extend a credential.
"""

import datetime as dt
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from apps.apitokens.models import ApiToken
from apps.core.errors import ValidationFailed

DEFAULT_NAME = "API token"
NAME_MAX = ApiToken._meta.get_field("name").max_length
# A token's last use is written at most this often, so API calls don't each write a row.
LAST_USED_RESOLUTION = dt.timedelta(minutes=1)


@transaction.atomic
def api_token_create(*, user: Any, name: str = "") -> tuple[ApiToken, str]:
    """Make a token for ``user`` that ends after ``API_TOKEN_TTL_DAYS``; returns the row and
    the key, which is not stored and cannot be read again."""
    name = (name or "").strip() or DEFAULT_NAME
    if len(name) > NAME_MAX:
        raise ValidationFailed(
            "The token was not made.", {"name": [f"Use at most {NAME_MAX} characters."]}
        )
    return ApiToken.objects.create(
        user=user, expiry=dt.timedelta(days=settings.API_TOKEN_TTL_DAYS), name=name
    )


def api_tokens_revoke(*, tokens: QuerySet[ApiToken]) -> int:
    """Revoke tokens: their rows go, so a request carrying one gets 401. Returns how many."""
    count, _ = tokens.delete()
    return count


def api_token_revoke_own(*, user: Any, token_id: int) -> bool:
    """Revoke one of ``user``'s own tokens; False if they have none with that id."""
    return api_tokens_revoke(tokens=ApiToken.objects.filter(pk=token_id, user=user)) > 0


def api_token_mark_used(*, token: ApiToken) -> None:
    """Record that ``token`` authenticated a request, at most once a minute: a conditional
    UPDATE, so concurrent requests write the row once and the rest write nothing."""
    now = timezone.now()
    if token.last_used_at and now - token.last_used_at < LAST_USED_RESOLUTION:
        return
    ApiToken.objects.filter(pk=token.pk).filter(
        Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - LAST_USED_RESOLUTION)
    ).update(last_used_at=now)
    token.last_used_at = now


def api_tokens_delete_expired() -> int:
    """Delete tokens past their expiry (they already get 401); returns how many."""
    return api_tokens_revoke(tokens=ApiToken.objects.filter(expiry__lte=timezone.now()))
