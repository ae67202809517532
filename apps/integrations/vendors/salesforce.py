"""Salesforce Outbound Messages: a SOAP 1.1 envelope holding ``notifications`` with the
sending ``OrganizationId`` and up to 100 ``Notification``s, each an id and an ``sObject``
with the fields chosen in Setup. Nothing is signed, and the organization id is no secret:
Salesforce is given a URL holding the connection's key (``?key=…``), compared in constant
time, and the connection may list the networks Salesforce sends from (its published IP
ranges, as Salesforce's security guidance advises). The answer is a
``notificationsResponse`` with ``Ack`` true, or Salesforce sends the message again for up
to 24 hours.

Opportunities, accounts, contacts and opportunity line items may all be sent to the same
URL (one outbound message per object in Setup).
"""

import urllib.parse
from xml.etree import ElementTree

from django.utils.html import escape

from apps.integrations.models import CrmConnection
from apps.integrations.vendors import same_secret, source_allowed
from apps.integrations.vendors.base import (
    AccountData,
    Authenticated,
    ContactData,
    DealData,
    EventSpec,
    Ignored,
    InboundRequest,
    LineData,
    LineItemData,
    Malformed,
    Rejected,
    Snapshot,
    day,
    decimal_or_none,
    moment,
)

SOAP = "http://schemas.xmlsoap.org/soap/envelope/"
OUTBOUND = "http://soap.sforce.com/2005/09/outbound"
XSI = "http://www.w3.org/2001/XMLSchema-instance"

ACK = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    f'<soapenv:Envelope xmlns:soapenv="{SOAP}">'
    "<soapenv:Body>"
    f'<notificationsResponse xmlns="{OUTBOUND}"><Ack>true</Ack></notificationsResponse>'
    "</soapenv:Body>"
    "</soapenv:Envelope>"
)


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _parse(body: bytes) -> ElementTree.Element:
    # SOAP forbids a document type declaration; refusing one keeps entity tricks out.
    if b"<!DOCTYPE" in body.upper() or b"<!ENTITY" in body.upper():
        raise Malformed("A SOAP message has no document type declaration.")
    try:
        return ElementTree.fromstring(body)
    except ElementTree.ParseError:
        raise Malformed("The body is not XML.") from None


def _fields(sobject: ElementTree.Element) -> dict:
    values = {}
    for child in sobject:
        nil = child.get(f"{{{XSI}}}nil") == "true"
        values[_local(child.tag)] = None if nil else (child.text or "").strip()
    return values


def same_organization(given: str, configured: str) -> bool:
    """Organization ids compare on their first 15 characters (case-sensitive); the 18
    character form adds a case-insensitive checksum."""
    given, configured = given.strip(), configured.strip()
    return (
        len(given) in (15, 18) and len(configured) in (15, 18) and (given[:15] == configured[:15])
    )


def authenticate(request: InboundRequest) -> Authenticated:
    root = _parse(request.body)
    notifications = root.find(f"{{{SOAP}}}Body/{{{OUTBOUND}}}notifications")
    if notifications is None:
        raise Malformed("No SOAP notifications element in the body.")
    organization = (notifications.findtext(f"{{{OUTBOUND}}}OrganizationId") or "").strip()
    candidates = CrmConnection.objects.filter(
        vendor="salesforce", tenant_id__startswith=organization[:15]
    )
    connection = next(
        (c for c in candidates if organization and same_organization(organization, c.tenant_id)),
        None,
    )
    if connection is None:
        raise Rejected(403, "unknown tenant")
    if not connection.enabled:
        raise Rejected(403, "connection disabled", connection)
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(request.url).query)
    key = (query.get("key") or [""])[0]
    if not connection.secret:  # made before keys existed: refused until one is saved
        raise Rejected(401, "no key saved on the connection", connection)
    if not key:
        raise Rejected(401, "missing key", connection)
    if not same_secret(key, connection.secret):
        raise Rejected(401, "bad key", connection)
    if not source_allowed(connection, request.client_address):
        raise Rejected(403, "address not in the allowed networks", connection)
    specs = []
    for note in notifications.findall(f"{{{OUTBOUND}}}Notification"):
        note_id = (note.findtext(f"{{{OUTBOUND}}}Id") or "").strip()
        sobject = note.find(f"{{{OUTBOUND}}}sObject")
        if not note_id or sobject is None:
            raise Malformed("Every Notification has an Id and an sObject.")
        object_type = (sobject.get(f"{{{XSI}}}type") or "").split(":")[-1]
        fields = _fields(sobject)
        specs.append(
            EventSpec(
                key=note_id,
                kind=f"{object_type} notification",
                object_type=object_type,
                object_id=fields.get("Id") or "",
                payload={
                    "OrganizationId": organization,
                    "ActionId": notifications.findtext(f"{{{OUTBOUND}}}ActionId") or "",
                    "NotificationId": note_id,
                    "type": object_type,
                    "fields": fields,
                },
                occurred_at=moment(fields.get("LastModifiedDate")),
            )
        )
    if len(specs) > 100:
        raise Malformed("Salesforce sends at most 100 notifications a message.")
    return Authenticated(
        connection=connection, events=specs, headers={"SOAPAction": "notifications"}
    )


def acknowledge(auth: Authenticated) -> tuple[int, str, str]:
    return 200, "text/xml; charset=utf-8", ACK


def refuse(status: int, problem: str) -> tuple[int, str, str]:
    """A refusal the SOAP way: a SOAP 1.1 Fault naming the problem (``Client``: the message,
    not Afterwin, is at fault). SOAP answers faults with 500, but Afterwin keeps its 4xx
    (400 malformed, 401 unproven, 403 unknown): Salesforce treats every answer without an
    Ack alike, retrying with growing intervals (at most two hours apart) and dropping the
    message after 24 hours, so a permanently malformed message stops by itself either way,
    and its fault string shows in Salesforce's outbound message queue."""
    fault = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<soapenv:Envelope xmlns:soapenv="{SOAP}">'
        "<soapenv:Body><soapenv:Fault>"
        "<faultcode>soapenv:Client</faultcode>"
        f"<faultstring>{escape(problem)}</faultstring>"
        "</soapenv:Fault></soapenv:Body>"
        "</soapenv:Envelope>"
    )
    return status, "text/xml; charset=utf-8", fault


def read(connection, event) -> Snapshot:
    kind = event.payload.get("type", "")
    fields = event.payload.get("fields", {})
    if kind == "Opportunity":
        is_won = (fields.get("IsWon") or "").lower() == "true"
        is_closed = (fields.get("IsClosed") or "").lower() == "true"
        outcome = "won" if is_won else "lost" if is_closed else "open"
        return DealData(
            crm_id=fields.get("Id") or "",
            name=fields.get("Name") or f"Salesforce opportunity {fields.get('Id')}",
            outcome=outcome,
            stage_label=fields.get("StageName") or "",
            amount=decimal_or_none(fields.get("Amount")),
            currency=fields.get("CurrencyIsoCode") or "",
            close_date=day(fields.get("CloseDate")),
            account_crm_id=fields.get("AccountId") or "",
            primary_contact_crm_id=fields.get("ContactId") or "",
            owner_id=fields.get("OwnerId") or "",
            reason_text=fields.get("Loss_Reason__c") or fields.get("Win_Reason__c") or "",
            changed_at=moment(fields.get("LastModifiedDate")),
        )
    if kind == "Account":
        return AccountData(
            crm_id=fields.get("Id") or "",
            name=fields.get("Name") or "",
            domain=fields.get("Website") or "",
        )
    if kind == "Contact":
        name = fields.get("Name") or " ".join(
            filter(None, (fields.get("FirstName"), fields.get("LastName")))
        )
        return ContactData(
            crm_id=fields.get("Id") or "",
            name=name or fields.get("Email") or "",
            email=fields.get("Email") or "",
            account_crm_id=fields.get("AccountId") or "",
        )
    if kind == "OpportunityLineItem":
        quantity = decimal_or_none(fields.get("Quantity"))
        return LineItemData(
            deal_crm_id=fields.get("OpportunityId") or "",
            line=LineData(
                crm_id=fields.get("Id") or "",
                sku=fields.get("ProductCode") or "",
                name=fields.get("Name") or "",
                quantity=int(quantity) if quantity else 1,
                unit_price=decimal_or_none(fields.get("UnitPrice")),
            ),
        )
    return Ignored(f"Salesforce {kind or 'unknown'} messages concern nothing Afterwin follows.")
