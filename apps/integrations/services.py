"""Connection writes (the admin calls these)."""

from typing import Any

from django.db import transaction

from apps.core.errors import ValidationFailed
from apps.core.writes import model_changes_apply, model_validate
from apps.integrations.models import CrmConnection

CONNECTION_FIELDS = (
    "name",
    "vendor",
    "tenant_id",
    "enabled",
    "secret",
    "basic_auth_username",
    "api_token",
    "api_base_url",
    "won_stages",
    "lost_stages",
    "default_owner",
    "default_win_reason",
    "default_loss_reason",
    "default_currency",
    "default_product",
)


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
    if vendor in ("hubspot", "zoho") and not connection.api_token:
        problems["api_token"] = [
            "Enter an API token: this CRM sends ids only, and Afterwin reads the deal with it."
        ]
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
    connection = CrmConnection(**fields)
    connection.tenant_id = connection.tenant_id.strip()
    _check(connection, "The connection was not saved.", None)
    connection.save()
    return connection


@transaction.atomic
def connection_update(*, connection: CrmConnection, **changes: Any) -> CrmConnection:
    """Change a connection; an empty secret or token keeps the saved one."""
    for name in ("secret", "api_token"):
        if name in changes and not changes[name]:
            changes.pop(name)
    changed = model_changes_apply(connection, changes)
    if changed:
        _check(connection, "The connection was not saved.", [*changed, "secret"])
        connection.save()
    return connection
