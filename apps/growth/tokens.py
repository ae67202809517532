"""The signed token in a referral link: it names one referral request. Expiry is the
request's own (``expires_at``), checked by the page."""

from apps.core.signed_ids import id_from_token, id_token

SALT = "growth.referral"


def referral_token(request_id: int) -> str:
    return id_token(request_id, salt=SALT)


def referral_request_id_from_token(token: str) -> int | None:
    """The request a token names, or None if it was tampered with or made up."""
    return id_from_token(token, salt=SALT)
