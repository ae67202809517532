"""The signed token in a survey link: it names one invitation. Expiry is the
invitation's own (``expires_at``, set from the survey), checked by the page."""

from apps.core.signed_ids import id_from_token, id_token

SALT = "surveys.invitation"


def invitation_token(invitation_id: int) -> str:
    return id_token(invitation_id, salt=SALT)


def invitation_id_from_token(token: str) -> int | None:
    """The invitation a token names, or None if it was tampered with or made up."""
    return id_from_token(token, salt=SALT)
