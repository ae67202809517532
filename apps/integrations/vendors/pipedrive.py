"""Pipedrive webhooks, version 2 (``meta.action`` "change" with ``meta.entity`` "deal",
``data`` and ``previous``, ``meta.id`` the event's own id) and version 1 (``event``
"updated.deal", ``current`` and ``previous``). Authenticated with the HTTP Basic user
and password set on the webhook. A deal is won when its ``status`` is "won" (its stage
does not change); ``value`` is in the currency's units.
"""

import base64
import binascii
import json

from apps.integrations.vendors import require_connection, same_secret
from apps.integrations.vendors.base import (
    AccountData,
    Authenticated,
    ContactData,
    DealData,
    EventSpec,
    Ignored,
    InboundRequest,
    Malformed,
    Rejected,
    Snapshot,
    day,
    decimal_or_none,
    moment,
    ref_id,
    text,
)

ACTIONS_V1 = {"added": "create", "updated": "change", "deleted": "delete", "merged": "change"}
ENTITIES = {"deal": "deal", "person": "person", "organization": "organization"}


def _credentials(header: str) -> tuple[str, str] | None:
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic" or not encoded:
        return None
    try:
        user, _, password = base64.b64decode(encoded, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return user, password


def _shape(body: dict) -> tuple[str, str, str, dict, dict | None, str, object]:
    """(version, action, entity, current, previous, event key, when) from either version."""
    meta = body.get("meta") or {}
    if str(meta.get("version", "")).startswith("2"):
        entity, action = text(meta.get("entity")), text(meta.get("action"))
        key = ref_id(meta.get("id"))
        return (
            "2",
            action,
            entity,
            body.get("data") or {},
            body.get("previous"),
            key,
            (meta.get("timestamp")),
        )
    event = text(body.get("event"))
    action, _, entity = event.partition(".")
    entity = entity or text(meta.get("object"))
    action = ACTIONS_V1.get(action or text(meta.get("action")), action)
    current = body.get("current") or {}
    stamp = meta.get("timestamp_micro") or meta.get("timestamp")
    object_id = ref_id(meta.get("id")) or ref_id(current.get("id"))
    key = f"v1:{entity}:{object_id}:{stamp}:{action}" if object_id and stamp else ""
    return "1", action, entity, current, body.get("previous"), key, meta.get("timestamp")


def authenticate(request: InboundRequest) -> Authenticated:
    given = _credentials(request.headers.get("Authorization", ""))
    if given is None:
        raise Rejected(401, "missing signature")
    try:
        body = json.loads(request.body)
    except ValueError:
        raise Malformed("The body is not JSON.") from None
    if not isinstance(body, dict):
        raise Malformed("Pipedrive sends one JSON object per webhook.")
    connection = require_connection("pipedrive", ref_id((body.get("meta") or {}).get("company_id")))
    user, password = given
    if not (
        same_secret(user, connection.basic_auth_username)
        and same_secret(password, connection.secret)
    ):
        raise Rejected(401, "bad signature", connection)
    version, action, entity, current, _previous, key, when = _shape(body)
    if not key:
        raise Malformed("No event id in meta.")
    spec = EventSpec(
        key=key,
        kind=f"{action}.{entity} (v{version})",
        object_type=entity,
        object_id=ref_id(current.get("id")) or ref_id((body.get("meta") or {}).get("entity_id")),
        payload=body,
        occurred_at=moment(when),
    )
    return Authenticated(connection=connection, events=[spec], headers={"version": version})


def acknowledge(auth: Authenticated) -> tuple[int, str, str]:
    return 200, "application/json", '{"received": true}'


def _outcome(status: str):
    return {"won": "won", "lost": "lost", "open": "open"}.get(status)


def read(connection, event) -> Snapshot:
    _version, action, entity, current, previous, _key, when = _shape(event.payload)
    if action == "delete":
        return Ignored(f"A Pipedrive {entity} was deleted: Afterwin keeps its records.")
    if entity == "person":
        emails = current.get("emails") or current.get("email") or []
        if isinstance(emails, str):
            emails = [{"value": emails, "primary": True}]
        primary = next((e for e in emails if e.get("primary")), emails[0] if emails else {})
        return ContactData(
            crm_id=ref_id(current.get("id")),
            name=text(current.get("name")),
            email=text(primary.get("value")),
            account_crm_id=ref_id(current.get("org_id")),
        )
    if entity == "organization":
        return AccountData(crm_id=ref_id(current.get("id")), name=text(current.get("name")))
    if entity != "deal":
        return Ignored(f"Pipedrive {entity} events concern nothing Afterwin follows.")
    status = text(current.get("status"))
    outcome = _outcome(status)
    if outcome is None:
        return Ignored(f"A Pipedrive deal with status “{status}” is neither open, won nor lost.")
    previous_status = text((previous or {}).get("status"))
    org_id = ref_id(current.get("org_id"))
    person_id = ref_id(current.get("person_id"))
    person_name = text(current.get("person_name")) or (
        text(current.get("person_id")) if isinstance(current.get("person_id"), dict) else ""
    )
    org_name = text(current.get("org_name")) or (
        text(current.get("org_id")) if isinstance(current.get("org_id"), dict) else ""
    )
    won_time = current.get("won_time") or current.get("close_time")
    lost_time = current.get("lost_time") or current.get("close_time")
    return DealData(
        crm_id=ref_id(current.get("id")),
        name=text(current.get("title")) or f"Pipedrive deal {current.get('id')}",
        outcome=outcome,
        stage_label=status,
        stage_word="status",
        amount=decimal_or_none(current.get("value")),
        currency=text(current.get("currency")),
        close_date=day(won_time if outcome == "won" else lost_time)
        if outcome != "open"
        else (day(current.get("expected_close_date"))),
        account=AccountData(crm_id=org_id, name=org_name) if org_id and org_name else None,
        account_crm_id=org_id,
        contacts=[ContactData(crm_id=person_id, name=person_name)]
        if person_id and person_name
        else [],
        primary_contact_crm_id=person_id,
        owner_id=ref_id(current.get("owner_id") or current.get("user_id")),
        reason_text=text(current.get("lost_reason")) if outcome == "lost" else "",
        previous_outcome=_outcome(previous_status) if previous_status else None,
        changed_at=moment(current.get("update_time")) or moment(when),
    )
