"""Signed tokens that name one row, for the links in customer emails (survey answers,
referrals, unsubscribe). The salt keeps one kind of link from being used as another."""

import datetime as dt
from typing import Any

from django.core import signing


def id_token(pk: int, *, salt: str) -> str:
    return signing.dumps({"id": pk}, salt=salt, compress=True)


def id_from_token(token: str, *, salt: str, max_age: dt.timedelta | None = None) -> int | None:
    """The id a token names, or None if it was tampered with, made up or (with
    ``max_age``) is too old."""
    try:
        data: Any = signing.loads(token, salt=salt, max_age=max_age)
    except signing.BadSignature:  # SignatureExpired is a BadSignature
        return None
    pk = data.get("id") if isinstance(data, dict) else None
    return pk if isinstance(pk, int) and not isinstance(pk, bool) else None
