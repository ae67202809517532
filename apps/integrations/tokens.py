"""Access tokens that expire: OAuth refresh for HubSpot public apps and Zoho CRM.

A connection with an OAuth client id, client secret and refresh token keeps its access
token (``api_token``) current itself. Before an API read, a token that is missing or
expires within a minute is replaced; a 401 from the API replaces it once and the read is
tried once more. A connection without them (a HubSpot private app's token, which does not
expire) sends its API token as it is.

Token requests are form-encoded POSTs answered with JSON (``access_token``,
``expires_in`` in seconds, and from HubSpot a ``refresh_token``, which is kept when it
changes). Zoho answers a refused refresh with 200 and ``{"error": "invalid_code"}``,
HubSpot with 400 and ``{"status": "BAD_REFRESH_TOKEN", "message": …}``: both are failures.
"""

import datetime as dt
import logging
import urllib.parse
from typing import Any

from django.db import transaction

from apps.core import clock
from apps.integrations import client
from apps.integrations.models import CrmConnection, Vendor
from apps.integrations.vendors.base import FetchFailed

logger = logging.getLogger(__name__)

# Refreshed this long before it expires, so a read never starts with a token about to die.
EARLY = dt.timedelta(minutes=1)
TOKEN_URLS = {
    "hubspot": "https://api.hubapi.com/oauth/v1/token",
    "zoho": "https://accounts.zoho.com/oauth/v2/token",
}
# What the token server's error code says to fix on the connection.
_TO_FIX = {
    "invalid_code": "the refresh token (it was revoked, or belongs to another client)",
    "BAD_REFRESH_TOKEN": "the refresh token (it was revoked, or the app was uninstalled)",
    "invalid_client": (
        "the client id and client secret (or the token URL: a Zoho client answers only in "
        "its own data centre)"
    ),
    "invalid_client_secret": "the client secret",
    "BAD_CLIENT_ID": "the client id",
    "BAD_CLIENT_SECRET": "the client secret",
}
_TO_FIX_ANY = "the OAuth client id, client secret, refresh token and token URL"


class TokenRefreshFailed(FetchFailed):
    """The CRM's OAuth server gave no new access token; the message names the connection
    and what to fix on it."""


def refresh_configured(connection: CrmConnection) -> bool:
    return bool(
        connection.oauth_client_id
        and connection.oauth_client_secret
        and connection.oauth_refresh_token
    )


def token_url(connection: CrmConnection) -> str:
    """The connection's token URL, else its vendor's; a server given alone
    (``https://accounts.zoho.eu``) gets the vendor's path."""
    default = TOKEN_URLS.get(connection.vendor, "")
    given = (connection.oauth_token_url or "").strip()
    if not given:
        return default
    parts = urllib.parse.urlsplit(given)
    if parts.path in ("", "/") and default:
        return parts._replace(path=urllib.parse.urlsplit(default).path).geturl()
    return given


def _usable(connection: CrmConnection) -> bool:
    """A token that is there and not known to expire within ``EARLY`` (a token pasted by
    hand has no known expiry: it is used until the API refuses it)."""
    expires = connection.access_token_expires_at
    return bool(connection.api_token) and (expires is None or expires > clock.now() + EARLY)


def connection_access_token(connection: CrmConnection) -> str:
    """The token to send to the CRM's API, refreshed first when it is missing or about to
    expire and the connection can refresh it."""
    if not refresh_configured(connection) or _usable(connection):
        return connection.api_token
    return connection_token_refresh(connection=connection)


def connection_token_refresh(
    *, connection: CrmConnection, rejected: str | None = None, force: bool = False
) -> str:
    """Get a new access token from the CRM's OAuth server, store it with its expiry (and a
    new refresh token when the CRM sends one), and return it. ``rejected`` is a token the
    API refused; ``force`` refreshes even a token that looks good (the admin's button).
    Raises ``TokenRefreshFailed`` naming the connection and what to fix; nothing is
    changed then.

    One refresh at a time per connection: the row is locked and the token looked at again
    under the lock, so a worker that waited while another refreshed uses the token that
    one got instead of asking again (Zoho allows a few refreshes a minute per token, and
    a rotated refresh token must be stored by exactly one worker). The lock is FOR NO KEY
    UPDATE: deliveries being stored for this connection (their foreign keys take KEY SHARE
    locks on it) are not held up while the token server answers.
    """
    if not refresh_configured(connection):
        raise TokenRefreshFailed(
            f"The {_label(connection)} connection “{connection.name}” has no OAuth refresh "
            "set up: enter the OAuth client id, client secret and refresh token on it."
        )
    with transaction.atomic():
        locked = CrmConnection.objects.select_for_update(no_key=True).get(pk=connection.pk)
        if rejected is not None:
            done_elsewhere = locked.api_token != rejected and _usable(locked)
        else:
            done_elsewhere = not force and _usable(locked)
        if not done_elsewhere:
            answer = _exchange(locked)
            seconds = _seconds(answer.get("expires_in"))
            locked.api_token = str(answer["access_token"])
            locked.access_token_expires_at = (
                clock.now() + dt.timedelta(seconds=seconds) if seconds else None
            )
            changed = ["api_token", "access_token_expires_at", "updated_at"]
            # Zoho names the data centre to read from; an API base URL left empty takes it.
            domain = answer.get("api_domain")
            if (
                locked.vendor == "zoho"
                and not locked.api_base_url
                and isinstance(domain, str)
                and domain.startswith("https://")
            ):
                locked.api_base_url = domain
                changed.append("api_base_url")
            rotated = answer.get("refresh_token")
            if isinstance(rotated, str) and rotated and rotated != locked.oauth_refresh_token:
                locked.oauth_refresh_token = rotated
                changed.append("oauth_refresh_token")
            locked.save(update_fields=changed)
            logger.info(
                "Refreshed the access token of CRM connection %s (expires %s)",
                locked.pk,
                locked.access_token_expires_at or "at a time not given",
            )
    for name in ("api_token", "access_token_expires_at", "oauth_refresh_token", "api_base_url"):
        setattr(connection, name, getattr(locked, name))
    return locked.api_token


def authorized_get_json(connection: CrmConnection, url: str, *, scheme: str, what: str) -> Any:
    """``client.get_json`` with the connection's access token in ``Authorization``
    (``scheme`` is "Bearer" or Zoho's "Zoho-oauthtoken"). A 401 on a connection that can
    refresh its token refreshes it once and tries once more."""
    token = connection_access_token(connection)
    try:
        return client.get_json(url, headers={"Authorization": f"{scheme} {token}"}, what=what)
    except FetchFailed as exc:
        if exc.status != 401 or not refresh_configured(connection):
            raise
    token = connection_token_refresh(connection=connection, rejected=token)
    try:
        return client.get_json(url, headers={"Authorization": f"{scheme} {token}"}, what=what)
    except FetchFailed as exc:
        if exc.status != 401:
            raise
        raise FetchFailed(
            f"{exc}, with an access token refreshed just now: check that the OAuth client "
            f"of “{connection.name}” was given the scopes to read deals, accounts (companies) "
            "and contacts.",
            status=401,
        ) from None


def _exchange(connection: CrmConnection) -> dict:
    fields = {
        "grant_type": "refresh_token",
        "client_id": connection.oauth_client_id,
        "client_secret": connection.oauth_client_secret,
        "refresh_token": connection.oauth_refresh_token,
    }
    what = f"{_label(connection)} token refresh for “{connection.name}”"
    try:
        answer = client.post_form(token_url(connection), fields=fields, what=what)
    except FetchFailed as exc:
        if exc.status is None:  # no answer after the retries: the server, not the settings
            raise TokenRefreshFailed(
                f"{exc}. The access token of “{connection.name}” could not be refreshed; "
                "failed events are tried again later (check the token URL if this lasts)."
            ) from None
        raise TokenRefreshFailed(
            _refused(connection, exc.answer, f"answered {exc.status}"), status=exc.status
        ) from None
    if not isinstance(answer, dict) or answer.get("error") or not answer.get("access_token"):
        raise TokenRefreshFailed(_refused(connection, answer, "gave no access token"))
    return answer


def _refused(connection: CrmConnection, answer: Any, otherwise: str) -> str:
    code, said = _said(connection, answer)
    vendor = _label(connection)
    heard = f"said “{said}”" if said else otherwise
    return (
        f"The {vendor} connection “{connection.name}” could not refresh its access token: "
        f"{vendor}'s token server ({token_url(connection)}) {heard}. Check "
        f"{_TO_FIX.get(code, _TO_FIX_ANY)} on the connection; failed events are tried "
        "again later, or use Replay once it is fixed."
    )


def _said(connection: CrmConnection, answer: Any) -> tuple[str, str]:
    """The error code and the words of a refusal (``error``, ``error_description``,
    HubSpot's ``status`` and ``message``), without the connection's secrets."""
    if not isinstance(answer, dict):
        return "", ""
    parts = [
        str(answer[key]).strip()
        for key in ("error", "status", "error_description", "message")
        if isinstance(answer.get(key), str | int) and str(answer[key]).strip()
    ]
    said = ": ".join(dict.fromkeys(parts))[:200]
    for secret in (connection.oauth_client_secret, connection.oauth_refresh_token):
        if secret:
            said = said.replace(secret, "••••")
    code = str(answer.get("error") or answer.get("status") or "")
    return code, said


def _seconds(value: Any) -> int | None:
    try:
        seconds = int(value)
    except (TypeError, ValueError):
        return None
    return seconds if seconds > 0 else None


def _label(connection: CrmConnection) -> str:
    return Vendor(connection.vendor).label
