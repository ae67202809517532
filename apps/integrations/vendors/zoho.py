"""Zoho CRM notifications (``/actions/watch``): a JSON body with the ``module``, the
``operation``, the ``ids`` of every record it concerns, the ``channel_id`` and the
``token`` given at subscription, which must be the connection's. Only ids are sent, so
the worker reads each deal, its account and contact through Zoho's API, with an OAuth
access token that lasts an hour (refreshed by ``apps.integrations.tokens``).
"""

import json
import urllib.parse

from apps.integrations import tokens
from apps.integrations.vendors import known_connection, require_connection, same_secret
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
from apps.integrations.vendors.stages import stage_outcome

DEFAULT_API = "https://www.zohoapis.com"


def authenticate(request: InboundRequest) -> Authenticated:
    try:
        body = json.loads(request.body)
    except ValueError:
        raise Malformed("The body is not JSON.") from None
    if not isinstance(body, dict):
        raise Malformed("Zoho sends one JSON object per notification.")
    token = text(body.get("token"))
    if not token:
        raise Rejected(
            401, "missing signature", known_connection("zoho", ref_id(body.get("channel_id")))
        )
    connection = require_connection("zoho", ref_id(body.get("channel_id")))
    if not same_secret(token, connection.secret):
        raise Rejected(401, "bad signature", connection)
    ids = body.get("ids") or []
    if not isinstance(ids, list):
        raise Malformed("ids is a list.")
    module, operation = text(body.get("module")), text(body.get("operation"))
    stamp = text(body.get("server_time"))
    specs = [
        EventSpec(
            key=f"{stamp}:{module}:{operation}:{ref_id(record_id)}",
            kind=f"{module}.{operation}",
            object_type=module,
            object_id=ref_id(record_id),
            payload={k: v for k, v in body.items() if k not in ("token", "ids")}
            | {"id": ref_id(record_id)},
            occurred_at=moment(body.get("server_time")),
        )
        for record_id in ids
    ]
    # The token is the connection's secret: it is checked, not kept.
    stored = request.body.replace(token.encode(), b"[the connection's token]")
    return Authenticated(connection=connection, events=specs, headers={}, stored_body=stored)


def acknowledge(auth: Authenticated) -> tuple[int, str, str]:
    return 200, "application/json", '{"received": true}'


def _record(connection, module: str, record_id: str) -> dict:
    base = (connection.api_base_url or DEFAULT_API).rstrip("/")
    quoted = urllib.parse.quote(record_id, safe="")
    found = tokens.authorized_get_json(
        connection,
        f"{base}/crm/v2/{module}/{quoted}",
        scheme="Zoho-oauthtoken",
        what=f"Zoho {module} {record_id}",
    )
    rows = (found or {}).get("data") or []
    return rows[0] if rows else {}


def read(connection, event) -> Snapshot:
    module, operation = event.object_type, text(event.payload.get("operation"))
    if operation == "delete":
        return Ignored(f"Deleted in Zoho ({module}): Afterwin keeps its records.")
    if module in ("Contacts", "Accounts"):
        return Ignored(
            f"A Zoho {module[:-1].lower()} changed: Afterwin reads a deal's account and "
            "contact when the deal changes (blocked closes are retried).",
            retry_blocked=True,
        )
    if module != "Deals":
        return Ignored(f"Zoho {module} notifications concern nothing Afterwin follows.")
    deal = _record(connection, "Deals", event.object_id)
    if not deal:
        return Ignored(f"Zoho has no deal {event.object_id} any more.")
    stage = text(deal.get("Stage"))
    outcome = stage_outcome(connection, stage)
    account = None
    account_id = ref_id(deal.get("Account_Name"))
    if account_id:
        found = _record(connection, "Accounts", account_id)
        account = AccountData(
            crm_id=account_id,
            name=text(found.get("Account_Name")) or text(deal.get("Account_Name")),
            domain=text(found.get("Website")),
        )
    contacts = []
    contact_id = ref_id(deal.get("Contact_Name"))
    if contact_id:
        found = _record(connection, "Contacts", contact_id)
        name = text(found.get("Full_Name")) or " ".join(
            filter(None, (text(found.get("First_Name")), text(found.get("Last_Name"))))
        )
        contacts.append(
            ContactData(
                crm_id=contact_id,
                name=name or text(deal.get("Contact_Name")),
                email=text(found.get("Email")),
            )
        )
    owner = deal.get("Owner") or {}
    return DealData(
        crm_id=ref_id(deal.get("id")) or event.object_id,
        name=text(deal.get("Deal_Name")) or f"Zoho deal {event.object_id}",
        outcome=outcome,
        stage_label=stage,
        amount=decimal_or_none(deal.get("Amount")),
        currency=text(deal.get("Currency")),
        close_date=day(deal.get("Closing_Date")),
        account=account,
        account_crm_id=account_id,
        contacts=contacts,
        primary_contact_crm_id=contact_id,
        owner_id=ref_id(owner),
        owner_email=text(owner.get("email")) if isinstance(owner, dict) else "",
        reason_text=text(deal.get("Reason_For_Loss__s")) if outcome == "lost" else "",
        changed_at=None,  # read as it is now
    )
