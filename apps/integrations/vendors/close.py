"""Close webhooks: ``{"subscription_id": …, "event": {…}}``, one event a request, signed
with ``close-sig-hash``: hex HMAC-SHA256 keyed with the subscription's signature key
(hex-decoded) over ``close-sig-timestamp`` + raw body. Opportunities are won when
``status_type`` is "won"; ``value`` is in cents, per ``value_period`` (one_time, monthly or
annual): the deal's amount is the first year's value, so a monthly value counts twelve
times. Leads become accounts and contacts
contacts when their events are subscribed too.
"""

import hashlib
import hmac
import json
from decimal import Decimal

from django.conf import settings

from apps.integrations.vendors import known_connection, require_connection
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


def signature(*, key_hex: str, timestamp: str, body: bytes) -> str:
    key = bytes.fromhex(key_hex)
    return hmac.new(key, timestamp.encode() + body, hashlib.sha256).hexdigest()


def _sender(body: bytes):
    """The connection an unproven webhook names, if any (the refusal counts against it)."""
    try:
        event = json.loads(body).get("event")
    except (ValueError, AttributeError):
        return None
    organization = text(event.get("organization_id")) if isinstance(event, dict) else ""
    return known_connection("close", organization)


def authenticate(request: InboundRequest) -> Authenticated:
    given = request.headers.get("close-sig-hash", "")
    timestamp = request.headers.get("close-sig-timestamp", "")
    if not given or not timestamp:
        raise Rejected(401, "missing signature", _sender(request.body))
    if not timestamp.isdigit() or (
        abs(request.now.timestamp() - int(timestamp)) > settings.CRM_SIGNATURE_MAX_AGE_SECONDS
    ):
        raise Rejected(401, "stale or invalid timestamp", _sender(request.body))
    try:
        body = json.loads(request.body)
    except ValueError:
        raise Malformed("The body is not JSON.") from None
    event = body.get("event") if isinstance(body, dict) else None
    if not isinstance(event, dict):
        raise Malformed('Close sends {"event": {…}}.')
    connection = require_connection("close", text(event.get("organization_id")))
    try:
        expected = signature(key_hex=connection.secret, timestamp=timestamp, body=request.body)
    except ValueError:  # a signature key that is not hex: nothing can match it
        expected = ""
    if not expected or not hmac.compare_digest(given.lower(), expected):
        raise Rejected(401, "bad signature", connection)
    key = text(event.get("id"))
    if not key:
        raise Malformed("The Close event has no id.")
    spec = EventSpec(
        key=key,
        kind=f"{text(event.get('object_type'))}.{text(event.get('action'))}",
        object_type=text(event.get("object_type")),
        object_id=text(event.get("object_id")) or ref_id(event.get("data")),
        payload=body,
        occurred_at=moment(event.get("date_updated") or event.get("date_created")),
    )
    return Authenticated(
        connection=connection, events=[spec], headers={"close-sig-timestamp": timestamp}
    )


def acknowledge(auth: Authenticated) -> tuple[int, str, str]:
    return 200, "application/json", '{"received": true}'


OUTCOMES = {"won": "won", "lost": "lost", "active": "open"}
# Close's value is per period; Afterwin's amount is what the first year brings.
FIRST_YEAR = {"monthly": 12, "annual": 1, "one_time": 1}


def first_year_amount(data: dict) -> Decimal | None:
    cents = decimal_or_none(data.get("value"))
    if cents is None:
        return None
    periods = FIRST_YEAR.get(text(data.get("value_period")), 1)
    return (cents * periods / 100).quantize(Decimal("0.01"))


def read(connection, event) -> Snapshot:
    payload = event.payload["event"]
    object_type, action = text(payload.get("object_type")), text(payload.get("action"))
    data = payload.get("data") or {}
    if action == "deleted":
        return Ignored(f"A Close {object_type} was deleted: Afterwin keeps its records.")
    if object_type == "lead":
        return AccountData(
            crm_id=text(data.get("id")),
            name=text(data.get("display_name") or data.get("name")),
            domain=text(data.get("url")),
        )
    if object_type == "contact":
        emails = data.get("emails") or []
        return ContactData(
            crm_id=text(data.get("id")),
            name=text(data.get("name") or data.get("display_name")),
            email=text(emails[0].get("email")) if emails else "",
            account_crm_id=text(data.get("lead_id")),
        )
    if object_type != "opportunity":
        return Ignored(f"Close {object_type or 'unknown'} events concern nothing Afterwin follows.")
    status_type = text(data.get("status_type"))
    outcome = OUTCOMES.get(status_type)
    if outcome is None:
        return Ignored(f"A Close opportunity with status type “{status_type}” is not followed.")
    previous = payload.get("previous_data") or {}
    lead_id, contact_id = text(data.get("lead_id")), text(data.get("contact_id"))
    return DealData(
        crm_id=text(data.get("id")),
        name=text(data.get("note"))[:200] or f"{text(data.get('lead_name'))} opportunity".strip(),
        outcome=outcome,
        stage_label=text(data.get("status_label")) or status_type,
        stage_word="status",
        amount=first_year_amount(data),
        currency=text(data.get("value_currency")),
        close_date=day(data.get("date_won")),
        account=AccountData(crm_id=lead_id, name=text(data.get("lead_name"))) if lead_id else None,
        account_crm_id=lead_id,
        contacts=[ContactData(crm_id=contact_id, name=text(data.get("contact_name")))]
        if contact_id and text(data.get("contact_name"))
        else [],
        primary_contact_crm_id=contact_id,
        owner_id=text(data.get("user_id")),
        previous_outcome=OUTCOMES.get(text(previous.get("status_type"))),
        changed_at=moment(data.get("date_updated")) or event.occurred_at,
    )
