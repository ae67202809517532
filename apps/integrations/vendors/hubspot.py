"""HubSpot webhooks: a JSON array of up to 100 events per request, signed with
``X-HubSpot-Signature-v3``: base64 HMAC-SHA256, keyed with the app's client secret, over
method + full URI + raw body + ``X-HubSpot-Request-Timestamp`` (epoch milliseconds;
older than five minutes is refused). Events carry ids and the changed property only, so
the worker reads the deal, its company, contacts, line items and owner from the CRM API
with a private app's token (it does not expire) or a public app's OAuth access token
(30 minutes, refreshed by ``apps.integrations.tokens``).
"""

import base64
import hashlib
import hmac
import json
import urllib.parse

from django.conf import settings

from apps.integrations import tokens
from apps.integrations.vendors import known_connection, require_connection
from apps.integrations.vendors.base import (
    AccountData,
    Authenticated,
    ContactData,
    DealData,
    EventSpec,
    FetchFailed,
    Ignored,
    InboundRequest,
    LineData,
    Malformed,
    Rejected,
    Snapshot,
    day,
    decimal_or_none,
    moment,
    ref_id,
    text,
)
from apps.integrations.vendors.stages import stage_outcome

DEAL_TYPE_ID = "0-3"
DEAL_PROPERTIES = (
    "dealname,amount,dealstage,closedate,pipeline,hubspot_owner_id,deal_currency_code,"
    "closed_won_reason,closed_lost_reason,hs_lastmodifieddate"
)
DEFAULT_API = "https://api.hubapi.com"
# HubSpot signs the URI with these characters decoded (its validation guide lists them).
_DECODED = {
    "%3A": ":",
    "%2F": "/",
    "%3F": "?",
    "%40": "@",
    "%21": "!",
    "%24": "$",
    "%27": "'",
    "%28": "(",
    "%29": ")",
    "%2A": "*",
    "%2C": ",",
    "%3B": ";",
}


def signature(*, secret: str, method: str, uri: str, body: bytes, timestamp: str) -> str:
    for encoded, plain in _DECODED.items():
        uri = uri.replace(encoded, plain).replace(encoded.lower(), plain)
    message = method.encode() + uri.encode() + body + timestamp.encode()
    digest = hmac.new(secret.encode(), message, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def authenticate(request: InboundRequest) -> Authenticated:
    given = request.headers.get("X-HubSpot-Signature-v3", "")
    timestamp = request.headers.get("X-HubSpot-Request-Timestamp", "")
    if not given or not timestamp:
        raise Rejected(401, "missing signature", _sender(request.body))
    if not timestamp.isdigit() or (
        abs(request.now.timestamp() * 1000 - int(timestamp))
        > settings.CRM_SIGNATURE_MAX_AGE_SECONDS * 1000
    ):
        raise Rejected(401, "stale or invalid timestamp", _sender(request.body))
    try:
        events = json.loads(request.body)
    except ValueError:
        raise Malformed("The body is not JSON.") from None
    if isinstance(events, dict):  # tolerate a single event sent bare
        events = [events]
    if not isinstance(events, list) or not all(isinstance(e, dict) for e in events):
        raise Malformed("HubSpot sends a JSON array of events.")
    portals = {ref_id(e.get("portalId")) for e in events}
    if len(portals) != 1:
        raise Rejected(403, "unknown tenant")
    connection = require_connection("hubspot", portals.pop())
    expected = signature(
        secret=connection.secret,
        method=request.method,
        uri=request.url,
        body=request.body,
        timestamp=timestamp,
    )
    if not connection.secret or not hmac.compare_digest(given, expected):
        raise Rejected(401, "bad signature", connection)
    specs = []
    for event in events:
        event_id = ref_id(event.get("eventId"))
        if not event_id:
            raise Malformed("Every HubSpot event has an eventId.")
        specs.append(
            EventSpec(
                key=event_key(event),
                earlier_keys=(event_id,),
                kind=text(event.get("subscriptionType")),
                object_type=_object_type(event),
                object_id=ref_id(event.get("objectId")),
                payload=event,
                occurred_at=moment(event.get("occurredAt")),
            )
        )
    kept = {"X-HubSpot-Request-Timestamp": timestamp, "X-HubSpot-Signature-Version": "v3"}
    return Authenticated(connection=connection, events=specs, headers=kept)


def _sender(body: bytes):
    """The connection an unproven batch names, if any (the refusal is counted against it)."""
    try:
        events = json.loads(body)
    except ValueError:
        return None
    first = events[0] if isinstance(events, list) and events else events
    return (
        known_connection("hubspot", ref_id(first.get("portalId")))
        if isinstance(first, dict)
        else None
    )


def event_key(event: dict) -> str:
    """HubSpot does not promise that ``eventId`` alone is unique: the key is the event id
    with its subscription, moment and object. A retry of the same event carries the same
    values (only ``attemptNumber`` grows), so it has the same key. Events stored before
    this key have the bare ``eventId`` (``EventSpec.earlier_keys``)."""
    parts = ("eventId", "subscriptionId", "occurredAt", "objectId")
    return "hs:" + ":".join(ref_id(event.get(part)) for part in parts)


def _object_type(event: dict) -> str:
    kind = text(event.get("subscriptionType"))
    if kind.startswith("object."):
        return "deal" if text(event.get("objectTypeId")) == DEAL_TYPE_ID else "object"
    return kind.split(".", 1)[0]


def acknowledge(auth: Authenticated) -> tuple[int, str, str]:
    return 200, "text/plain", ""


def read(connection, event) -> Snapshot:
    payload = event.payload
    kind = text(payload.get("subscriptionType"))
    if kind.endswith(".deletion"):
        return Ignored("Deleted in HubSpot: Afterwin keeps its records.")
    if event.object_type in ("contact", "company", "line_item"):
        return Ignored(
            f"A HubSpot {event.object_type} changed: Afterwin reads a deal's "
            f"{event.object_type}s when the deal changes (blocked closes are retried).",
            retry_blocked=True,
        )
    if event.object_type != "deal":
        return Ignored(f"HubSpot “{kind}” events concern no deal.")
    return _deal(connection, event.object_id)


def _get(connection, path: str, what: str):
    base = (connection.api_base_url or DEFAULT_API).rstrip("/")
    return tokens.authorized_get_json(connection, base + path, scheme="Bearer", what=what)


def _associated(record: dict, name: str) -> list[str]:
    found = record.get("associations") or {}
    # The v3 API names the line-item association "line items" (with a space).
    group = found.get(name) or found.get(name.replace("_", " ")) or {}
    return [ref_id(r) for r in group.get("results", []) if ref_id(r)]


def _deal(connection, deal_id: str) -> DealData:
    quoted = urllib.parse.quote(deal_id, safe="")
    record = _get(
        connection,
        f"/crm/v3/objects/deals/{quoted}?properties={DEAL_PROPERTIES}"
        "&associations=companies,contacts,line_items",
        f"HubSpot deal {deal_id}",
    )
    props = record.get("properties") or {}
    stage = text(props.get("dealstage"))
    outcome = stage_outcome(connection, stage)
    account = None
    company_ids = _associated(record, "companies")
    if company_ids:
        company = _get(
            connection,
            f"/crm/v3/objects/companies/{company_ids[0]}?properties=name,domain",
            f"HubSpot company {company_ids[0]}",
        ).get("properties", {})
        account = AccountData(
            crm_id=company_ids[0],
            name=text(company.get("name")),
            domain=text(company.get("domain")),
        )
    contacts = []
    for contact_id in _associated(record, "contacts")[:10]:
        person = _get(
            connection,
            f"/crm/v3/objects/contacts/{contact_id}?properties=email,firstname,lastname",
            f"HubSpot contact {contact_id}",
        ).get("properties", {})
        name = " ".join(filter(None, (text(person.get("firstname")), text(person.get("lastname")))))
        email = text(person.get("email"))
        contacts.append(ContactData(crm_id=contact_id, name=name or email, email=email))
    line_items = []
    for item_id in _associated(record, "line_items")[:100]:
        item = _get(
            connection,
            f"/crm/v3/objects/line_items/{item_id}?properties=name,hs_sku,quantity,price",
            f"HubSpot line item {item_id}",
        ).get("properties", {})
        quantity = decimal_or_none(item.get("quantity"))
        line_items.append(
            LineData(
                crm_id=item_id,
                sku=text(item.get("hs_sku")),
                name=text(item.get("name")),
                quantity=int(quantity) if quantity else 1,
                unit_price=decimal_or_none(item.get("price")),
            )
        )
    owner_id = text(props.get("hubspot_owner_id"))
    owner_email, notes = "", []
    if owner_id:
        try:
            owner = _get(connection, f"/crm/v3/owners/{owner_id}", f"HubSpot owner {owner_id}")
        except FetchFailed as exc:
            # A deactivated owner (404) or a token without the owners scope (403) leaves the
            # deal ownerless in HubSpot's answer; the owner is optional (mapping, default).
            if exc.status not in (403, 404):
                raise
            notes.append(
                f"HubSpot owner {owner_id} could not be read ({exc.status}: "
                + ("deactivated or removed" if exc.status == 404 else "no owners scope")
                + "): matched by id under Owners, else the connection's default owner."
            )
        else:
            owner_email = text((owner or {}).get("email"))
    reason = props.get("closed_won_reason") if outcome == "won" else props.get("closed_lost_reason")
    return DealData(
        crm_id=ref_id(record.get("id")) or deal_id,
        name=text(props.get("dealname")) or f"HubSpot deal {deal_id}",
        outcome=outcome,
        stage_label=stage,
        amount=decimal_or_none(props.get("amount")),
        currency=text(props.get("deal_currency_code")),
        close_date=day(props.get("closedate")),
        account=account,
        account_crm_id=account.crm_id if account else "",
        contacts=contacts,
        primary_contact_crm_id=contacts[0].crm_id if contacts else "",
        line_items=line_items,
        owner_id=owner_id,
        owner_email=owner_email,
        reason_text=text(reason),
        changed_at=None,  # the deal is read as it is now: order does not matter
        notes=notes,
    )
