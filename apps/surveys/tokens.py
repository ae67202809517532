"""The signed token in a survey link: it names one invitation. Expiry is the
invitation's own (``expires_at``, set from the survey), checked by the page."""

from typing import Any

from django.core import signing

SALT = "surveys.invitation"


def invitation_token(invitation_id: int) -> str:
    return signing.dumps({"i": invitation_id}, salt=SALT, compress=True)


def invitation_id_from_token(token: str) -> int | None:
    """The invitation a token names, or None if it was tampered with or made up."""
    try:
        data: Any = signing.loads(token, salt=SALT)
    except signing.BadSignature:
        return None
    invitation_id = data.get("i") if isinstance(data, dict) else None
    return invitation_id if isinstance(invitation_id, int) else None
