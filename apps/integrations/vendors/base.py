"""What every CRM's adapter reads a delivery into, whatever the CRM.

At the door (``authenticate``) an adapter checks the request the vendor's way and splits it
into events, each with the CRM's own key for it. Later, in the worker (``read``), it turns
one stored event into a snapshot: the deal, account, contact or line item as the CRM has
it now, or the reason the event concerns nothing Afterwin follows. Applying a snapshot is
the same for every CRM (``apps.integrations.processing``).
"""

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from django.utils import timezone

Outcome = Literal["won", "lost", "open"]


class Rejected(Exception):
    """A request refused before anything is stored: 401 (who sent it is not proven) or 403
    (the tenant is unknown or disabled). ``connection`` is set when the tenant was found,
    so the refusal is counted against it."""

    def __init__(self, status: int, reason: str, connection: Any = None) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.connection = connection


class Malformed(Exception):
    """A request whose body is not what the vendor sends (a 400; nothing stored)."""


class FetchFailed(Exception):
    """The CRM's API did not give what an event needs (after the client's retries).
    ``status`` is the HTTP status the CRM refused with, ``answer`` its decoded error body
    (both None when no answer came)."""

    def __init__(self, problem: str, *, status: int | None = None, answer: Any = None) -> None:
        super().__init__(problem)
        self.status = status
        self.answer = answer


@dataclass(frozen=True)
class InboundRequest:
    method: str
    url: str  # the full public URL the CRM called
    body: bytes
    headers: Mapping[str, str]  # case-insensitive (Django's request.headers)
    now: dt.datetime
    client_address: str = ""  # as apps.core.client_ip reads it (behind trusted proxies)


@dataclass(frozen=True)
class EventSpec:
    key: str
    kind: str
    object_type: str
    object_id: str
    payload: dict
    occurred_at: dt.datetime | None = None
    # Keys an earlier release stored the same event under: still count as received.
    earlier_keys: tuple[str, ...] = ()


@dataclass(frozen=True)
class Authenticated:
    connection: Any
    events: list[EventSpec]
    headers: dict[str, str]  # the headers worth keeping with the raw body
    # The body to keep when it must differ from what came: a secret in it removed (Zoho).
    stored_body: bytes | None = None


@dataclass
class AccountData:
    crm_id: str
    name: str = ""
    domain: str = ""


@dataclass
class ContactData:
    crm_id: str
    name: str = ""
    email: str = ""
    account_crm_id: str = ""


@dataclass
class LineData:
    crm_id: str
    sku: str
    name: str = ""
    quantity: int = 1
    unit_price: Decimal | None = None


@dataclass
class LineItemData:
    """A line item sent on its own (Salesforce's OpportunityLineItem messages)."""

    deal_crm_id: str
    line: LineData


@dataclass
class DealData:
    crm_id: str
    name: str
    outcome: Outcome
    stage_label: str = ""
    # What the CRM calls ``stage_label``: a pipeline "stage", or a "status" (Pipedrive, Close).
    stage_word: str = "stage"
    amount: Decimal | None = None
    currency: str = ""
    close_date: dt.date | None = None
    account: AccountData | None = None  # with its details when the CRM gave them
    account_crm_id: str = ""
    contacts: list[ContactData] = field(default_factory=list)
    primary_contact_crm_id: str = ""
    line_items: list[LineData] | None = None  # None: the CRM does not say
    owner_id: str = ""
    owner_email: str = ""
    reason_text: str = ""  # the CRM's own win or loss reason
    previous_outcome: Outcome | None = None
    changed_at: dt.datetime | None = None
    # What the CRM could not give and was done without (an owner it would not show).
    notes: list[str] = field(default_factory=list)


@dataclass
class Ignored:
    reason: str
    # Other CRM records changed (a contact got its email): blocked closes may go now.
    retry_blocked: bool = False


Snapshot = DealData | AccountData | ContactData | LineItemData | Ignored


# Tolerant readers of the values CRMs send ----------------------------------------------


def text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dict):  # Pipedrive v1 and Zoho send {"name": …, "id": …}
        value = value.get("name") or value.get("value") or ""
    return str(value).strip()


def ref_id(value: Any) -> str:
    """A record id sent as a number, a string or an object holding it."""
    if value is None or value == "":
        return ""
    if isinstance(value, dict):
        value = value.get("id", value.get("value"))
        if value is None:
            return ""
    return str(value).strip()


def decimal_or_none(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value)).quantize(Decimal("0.01"))
    except (InvalidOperation, ValueError):
        return None


def moment(value: Any) -> dt.datetime | None:
    """A moment sent as epoch seconds or milliseconds, or an ISO 8601 text."""
    if value is None or value == "":
        return None
    if isinstance(value, int | float) or (isinstance(value, str) and value.isdigit()):
        number = float(value)
        if number > 10**11:  # milliseconds
            number /= 1000
        return dt.datetime.fromtimestamp(number, tz=dt.UTC)
    raw = str(value).strip().replace(" ", "T", 1)
    if raw.endswith("Z"):
        raw = raw[:-1] + "+00:00"
    try:
        parsed = dt.datetime.fromisoformat(raw)
    except ValueError:
        return None
    if timezone.is_naive(parsed):
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed


def day(value: Any) -> dt.date | None:
    if value is None or value == "":
        return None
    raw = str(value).strip()
    try:
        return dt.date.fromisoformat(raw[:10])
    except ValueError:
        found = moment(value)
        return found.date() if found else None


def lines(value: str) -> list[str]:
    return [line.strip() for line in (value or "").replace(",", "\n").splitlines() if line.strip()]
