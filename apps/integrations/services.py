"""Connection writes (the admin calls these)."""

import ipaddress
import re
import secrets
from typing import Any

from django.db import transaction

from apps.core.errors import ValidationFailed
from apps.core.writes import model_changes_apply, model_validate
from apps.integrations.models import CrmConnection
from apps.integrations.selectors import csm_choices
from apps.integrations.tokens import TOKEN_URLS
from apps.integrations.vendors.base import lines

# Written, never shown: an empty value in an update keeps the saved one.
WRITE_ONLY_FIELDS = ("secret", "api_token", "oauth_client_secret", "oauth_refresh_token")
OAUTH_FIELDS = ("oauth_client_id", "oauth_client_secret", "oauth_refresh_token")
OAUTH_VENDORS = tuple(TOKEN_URLS)  # the CRMs read through their API

CONNECTION_FIELDS = (
    "name",
    "vendor",
    "tenant_id",
    "enabled",
    "secret",
    "allowed_networks",
    "basic_auth_username",
    "api_token",
    "api_base_url",
    "oauth_client_id",
    "oauth_client_secret",
    "oauth_refresh_token",
    "oauth_token_url",
    "won_stages",
    "lost_stages",
    "default_owner",
    "default_csm",
    "default_win_reason",
    "default_loss_reason",
    "default_currency",
    "default_product",
    "line_items_separate",
)


# Salesforce's key travels in the URL: URL-safe characters, long enough not to be guessed.
SALESFORCE_KEY = re.compile(r"[A-Za-z0-9_-]{24,200}")


def salesforce_key_new() -> str:
    """A key for the URL given to Salesforce (43 URL-safe characters, 256 bits)."""
    return secrets.token_urlsafe(32)


def connection_problems(connection: CrmConnection) -> dict[str, list[str]]:
    """What a vendor's scheme needs that the connection lacks, keyed by field."""
    problems: dict[str, list[str]] = {}
    vendor = connection.vendor
    if vendor != "salesforce" and not connection.secret:
        what = {
            "hubspot": "the app's client secret (it signs every request)",
            "pipedrive": "the Basic-auth password set on the webhook",
            "close": "the webhook subscription's signature_key",
            "zoho": "the token given when the notification channel was enabled",
        }[vendor]
        problems["secret"] = [f"Enter {what}."]
    if vendor == "close" and connection.secret:
        try:
            bytes.fromhex(connection.secret)
        except ValueError:
            problems["secret"] = ["Close's signature key is hexadecimal (0-9, a-f)."]
    if vendor == "pipedrive" and not connection.basic_auth_username:
        problems["basic_auth_username"] = ["Enter the Basic-auth user name set on the webhook."]
    oauth_given = [name for name in OAUTH_FIELDS if getattr(connection, name)]
    if vendor in OAUTH_VENDORS and not connection.api_token and not oauth_given:
        problems["api_token"] = [
            "Enter an API token, or the OAuth client id, client secret and refresh token: "
            "this CRM sends ids only, and Afterwin reads the deal with them."
        ]
    if vendor not in OAUTH_VENDORS and (oauth_given or connection.oauth_token_url):
        problems["oauth_client_id"] = [
            "Only HubSpot and Zoho are read through their API: leave the OAuth settings empty."
        ]
    elif oauth_given and len(oauth_given) < len(OAUTH_FIELDS):
        for name in OAUTH_FIELDS:
            if name not in oauth_given:
                label = CrmConnection._meta.get_field(name).verbose_name
                problems[name] = [
                    f"Enter the {label} too: refreshing the access token needs the client "
                    "id, the client secret and the refresh token."
                ]
    csm = connection.default_csm
    if csm is not None and not csm_choices().filter(pk=csm.pk).exists():
        who = csm.get_full_name() or csm.get_username()
        problems["default_csm"] = [
            f"{who} is not an active user with the CSM role: choose a CSM, or leave it empty."
        ]
    if (
        vendor == "salesforce"
        and connection.secret
        and not SALESFORCE_KEY.fullmatch(connection.secret)
    ):
        problems["secret"] = [
            "Salesforce's key goes in a URL: at least 24 letters, digits, - or _ "
            "(or leave it empty for a new one made by Afterwin)."
        ]
    networks = lines(connection.allowed_networks or "")
    if networks and vendor != "salesforce":
        problems["allowed_networks"] = [
            "Only Salesforce connections check the sending address: leave it empty."
        ]
    for line in networks:
        try:
            ipaddress.ip_network(line, strict=False)
        except ValueError:
            problems.setdefault("allowed_networks", []).append(
                f"“{line}” is not a network: write one per line, e.g. 13.108.0.0/14."
            )
    if vendor == "salesforce" and len(connection.tenant_id.strip()) not in (15, 18):
        problems["tenant_id"] = ["A Salesforce organization id has 15 or 18 characters."]
    return problems


def _check(connection: CrmConnection, message: str, fields) -> None:
    problems: dict[str, list[str]] = {}
    try:
        model_validate(connection, message=message, fields=fields)
    except ValidationFailed as exc:
        problems.update(exc.errors)
    for name, messages in connection_problems(connection).items():
        problems.setdefault(name, []).extend(messages)
    if problems:
        raise ValidationFailed(message, problems)


@transaction.atomic
def connection_create(**fields: Any) -> CrmConnection:
    """Add a connection; a Salesforce connection given no key gets one."""
    connection = CrmConnection(**fields)
    connection.tenant_id = connection.tenant_id.strip()
    if connection.vendor == "salesforce" and not connection.secret:
        connection.secret = salesforce_key_new()
    _check(connection, "The connection was not saved.", None)
    connection.save()
    return connection


@transaction.atomic
def connection_update(*, connection: CrmConnection, **changes: Any) -> CrmConnection:
    """Change a connection; an empty secret or token keeps the saved one (a Salesforce
    connection without a key gets a new one). An emptied
    OAuth client id turns OAuth refresh off: its secret and refresh token are forgotten. A
    token pasted by hand has no known expiry: it is used until the API refuses it."""
    turning_off_oauth = "oauth_client_id" in changes and not changes["oauth_client_id"]
    for name in WRITE_ONLY_FIELDS:
        if name in changes and not changes[name]:
            changes.pop(name)
    if turning_off_oauth:
        changes |= {"oauth_client_secret": "", "oauth_refresh_token": ""}
    # A Salesforce connection saved without a key (made before keys existed) gets one.
    if changes.get("vendor", connection.vendor) == "salesforce" and not (
        changes.get("secret") or connection.secret
    ):
        changes["secret"] = salesforce_key_new()
    changed = model_changes_apply(connection, changes)
    if changed:
        if "api_token" in changed or turning_off_oauth:
            connection.access_token_expires_at = None
            changed.append("access_token_expires_at")
        _check(connection, "The connection was not saved.", [*changed, "secret"])
        # Only what changed: a worker may have stored a refreshed token (and a rotated
        # refresh token) since this row was read, and a full save would put the old back.
        connection.save(update_fields=[*changed, "updated_at"])
    return connection
