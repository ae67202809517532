"""Processing a CRM event in the worker, once.

An event is claimed with a conditional UPDATE (pending, or failed and due again, or
abandoned by a worker past its lease), read into a snapshot by its vendor's adapter (the
API calls of HubSpot and Zoho happen here, outside any transaction), then applied in one
transaction through the same services a person uses: accounts and contacts by their CRM
ids, the deal and its line items, then the stage. A won deal goes through
``deal_close_won`` with source "webhook", so playbooks start exactly as when a rep
closes it. What Afterwin refuses (no primary contact, no amount…) is kept on the event
as blockers, and the event is tried again when a later delivery brings what was missing.
"""

import datetime as dt
import logging
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from apps.core import clock
from apps.core.dates import date_text
from apps.core.errors import DomainError, ValidationFailed
from apps.core.outbox import Backoff, claim_row, send_after_commit
from apps.core.validators import is_domain
from apps.customers.models import Account, Contact, Product
from apps.customers.services import account_create, account_update, contact_create, contact_update
from apps.deals.models import Deal, DealLineItem, LossReason, Stage, StageChange, WinReason
from apps.deals.services import (
    deal_close_lost,
    deal_close_won,
    deal_close_won_blockers,
    deal_create,
    deal_reopen,
    deal_update,
    line_item_add,
    line_item_remove,
    line_item_update,
    local_today,
)
from apps.integrations.models import CrmConnection, CrmLink, CrmOwnerMapping, InboundEvent, Vendor
from apps.integrations.vendors import adapter
from apps.integrations.vendors.base import (
    AccountData,
    ContactData,
    DealData,
    FetchFailed,
    Ignored,
    LineData,
    LineItemData,
    Snapshot,
)

logger = logging.getLogger(__name__)

WEBHOOK = StageChange.Source.WEBHOOK
State = InboundEvent.State
LEASE = dt.timedelta(minutes=5)
RETRY = Backoff(first=dt.timedelta(minutes=1), cap=dt.timedelta(hours=6))
# How long a won deal waits for line items a CRM sends in their own messages (Salesforce's
# OpportunityLineItem outbound message), so every line sent with the win lands first.
LINE_ITEM_WAIT = dt.timedelta(minutes=5)


@dataclass
class Applied:
    state: str
    reason: str = ""
    blockers: dict[str, list[str]] = field(default_factory=dict)
    result: dict[str, Any] = field(default_factory=dict)
    retry_blocked: bool = False
    retry_at: dt.datetime | None = None  # a blocked event the sweep takes again then


# Claiming and running ---------------------------------------------------------------------


def _claimable(now: dt.datetime):
    return InboundEvent.objects.filter(
        Q(state=State.PENDING)
        | Q(
            state=State.FAILED,
            next_attempt_at__lte=now,
            attempts__lt=settings.CRM_EVENT_MAX_ATTEMPTS,
        )
        | Q(state=State.PROCESSING, lease_until__lt=now)
        | Q(state=State.BLOCKED, next_attempt_at__lte=now)
    )


def event_process(*, event_id: int) -> str | None:
    """Process one event if no other worker has it; returns the state it ended in, or None
    when it was not this worker's to process."""
    now = clock.now()
    lease = {"state": State.PROCESSING, "lease_until": now + LEASE, "attempts": F("attempts") + 1}
    if not claim_row(_claimable(now), pk=event_id, lease=lease):
        return None
    event = InboundEvent.objects.select_related("connection").get(pk=event_id)
    try:
        snapshot = adapter(event.vendor).read(event.connection, event)
    except FetchFailed as exc:
        return _failed(event, str(exc))
    except Exception as exc:  # a payload no adapter rule foresaw: recorded, never lost
        logger.exception("Reading %s event %s failed", event.vendor, event.pk)
        return _failed(event, f"{type(exc).__name__}: {exc}")
    try:
        with transaction.atomic():
            applied = snapshot_apply(connection=event.connection, event=event, snapshot=snapshot)
            InboundEvent.objects.filter(pk=event.pk).update(
                state=applied.state,
                reason=applied.reason[:2000],
                blockers=applied.blockers,
                result=applied.result,
                processed_at=clock.now(),
                lease_until=None,
                next_attempt_at=applied.retry_at,
            )
            if applied.retry_blocked:
                blocked_events_retry(connection=event.connection, besides=event.pk)
    except Exception as exc:
        logger.exception("Applying %s event %s failed", event.vendor, event.pk)
        return _failed(event, f"{type(exc).__name__}: {exc}")
    logger.info("%s event %s: %s", event.vendor, event.pk, applied.state)
    return applied.state


def _failed(event: InboundEvent, problem: str) -> str:
    attempts = InboundEvent.objects.values_list("attempts", flat=True).get(pk=event.pk)
    InboundEvent.objects.filter(pk=event.pk).update(
        state=State.FAILED,
        reason=problem[:2000],
        lease_until=None,
        next_attempt_at=clock.now() + RETRY.after(attempts),
    )
    return State.FAILED


def events_process(*, event_ids: list[int]) -> int:
    """Process these events in order (a delivery's, or replayed ones)."""
    return sum(1 for event_id in event_ids if event_process(event_id=event_id) is not None)


def events_process_due(*, limit: int = 100) -> int:
    """The sweep: events whose message was lost, failed ones due again, and ones a worker
    abandoned. Events younger than a few seconds are left to their own message."""
    now = clock.now()
    grace = now - dt.timedelta(seconds=settings.OUTBOX_SWEEP_GRACE_SECONDS)
    ids = list(
        _claimable(now)
        .exclude(state=State.PENDING, created_at__gt=grace)
        .order_by("created_at", "id")
        .values_list("pk", flat=True)[:limit]
    )
    return events_process(event_ids=ids)


def events_replay(*, event_ids: list[int]) -> int:
    """Put events back to be processed again (admin's replay). Applying is idempotent: a
    deal already won stays won once."""
    from apps.integrations.tasks import process_events

    count = (
        InboundEvent.objects.filter(pk__in=event_ids)
        .exclude(state=State.PROCESSING)
        .update(state=State.PENDING, next_attempt_at=clock.now(), lease_until=None)
    )
    if count:
        send_after_commit(process_events, list(event_ids), what="replayed CRM events")
    return count


def blocked_events_retry(*, connection: CrmConnection, besides: int | None = None) -> int:
    """A record the blocked closes may have waited for arrived: try them again after this
    commits (one blocked event per deal: a later one supersedes the earlier)."""
    from apps.integrations.tasks import process_events

    ids = list(
        InboundEvent.objects.filter(connection=connection, state=State.BLOCKED)
        .exclude(pk=besides)
        .order_by("created_at")
        .values_list("pk", flat=True)[:50]
    )
    if ids:
        InboundEvent.objects.filter(pk__in=ids).update(
            state=State.PENDING, next_attempt_at=clock.now()
        )
        send_after_commit(process_events, ids, what="blocked CRM events")
    return len(ids)


# Applying a snapshot ----------------------------------------------------------------------


def snapshot_apply(
    *, connection: CrmConnection, event: InboundEvent, snapshot: Snapshot
) -> Applied:
    if isinstance(snapshot, Ignored):
        return Applied(State.IGNORED, snapshot.reason, retry_blocked=snapshot.retry_blocked)
    if isinstance(snapshot, AccountData):
        account = _account_upsert(connection, snapshot)
        if account is None:
            return Applied(State.IGNORED, "The CRM sent an account without a name.")
        return Applied(
            State.PROCESSED,
            result={"account_id": account.pk, "account": account.name},
            retry_blocked=True,
        )
    if isinstance(snapshot, ContactData):
        return _contact_event(connection, snapshot)
    if isinstance(snapshot, LineItemData):
        return _line_item_event(connection, snapshot)
    return _deal_event(connection, event, snapshot)


def _vendor(connection: CrmConnection) -> str:
    return Vendor(connection.vendor).label


def _link(connection, kind: str, crm_id: str) -> CrmLink | None:
    if not crm_id:
        return None
    return CrmLink.objects.filter(connection=connection, kind=kind, crm_id=crm_id).first()


def _linked(model, connection, kind: str, crm_id: str):
    link = _link(connection, kind, crm_id)
    return model.objects.filter(pk=link.local_id).first() if link else None


def _link_save(connection, kind: str, crm_id: str, local_id: int) -> CrmLink:
    link, _ = CrmLink.objects.update_or_create(
        connection=connection, kind=kind, crm_id=crm_id, defaults={"local_id": local_id}
    )
    return link


def _domain(raw: str) -> str:
    host = raw.strip().lower()
    for prefix in ("https://", "http://"):
        host = host.removeprefix(prefix)
    host = host.split("/", 1)[0].removeprefix("www.")
    return host if host and is_domain(host) else ""


def _account_upsert(connection, data: AccountData) -> Account | None:
    account = _linked(Account, connection, CrmLink.Kind.ACCOUNT, data.crm_id)
    domain = _domain(data.domain)
    if account is not None:
        changes = {}
        if data.name and data.name[:200] != account.name:
            changes["name"] = data.name[:200]
        if domain and domain != account.domain:
            changes["domain"] = domain
        return account_update(account=account, actor=None, **changes) if changes else account
    if not data.name or not data.crm_id:
        return None
    account = account_create(
        actor=None, name=data.name[:200], domain=domain, csm=connection.default_csm
    )
    _link_save(connection, CrmLink.Kind.ACCOUNT, data.crm_id, account.pk)
    return account


def _csm_default(connection, account: Account) -> None:
    """An account won through the CRM gets the connection's default CSM when it has none,
    so its onboarding (kickoff task, welcome email, hand-off reminder) has a person."""
    if account.csm_id is None and connection.default_csm_id is not None:
        account_update(account=account, actor=None, csm=connection.default_csm)


def _contact_upsert(connection, data: ContactData, account: Account) -> Contact | None:
    contact = _linked(Contact, connection, CrmLink.Kind.CONTACT, data.crm_id)
    if contact is not None:
        changes = {}
        if data.name and data.name[:200] != contact.name:
            changes["name"] = data.name[:200]
        if data.email and data.email != contact.email:
            changes["email"] = data.email
        return contact_update(contact=contact, actor=None, **changes) if changes else contact
    if not data.crm_id or not (data.name or data.email):
        return None
    contact = contact_create(
        actor=None, account=account, name=(data.name or data.email)[:200], email=data.email
    )
    _link_save(connection, CrmLink.Kind.CONTACT, data.crm_id, contact.pk)
    return contact


def _contact_event(connection, data: ContactData) -> Applied:
    account = _linked(Account, connection, CrmLink.Kind.ACCOUNT, data.account_crm_id)
    if account is None:
        # A contact of a deal Afterwin already has belongs with the deal's account.
        deal_link = CrmLink.objects.filter(
            connection=connection, kind=CrmLink.Kind.DEAL, crm_contact_id=data.crm_id
        ).first()
        deal = Deal.objects.filter(pk=deal_link.local_id).first() if deal_link else None
        account = deal.account if deal else None
    existing = _link(connection, CrmLink.Kind.CONTACT, data.crm_id)
    if account is None and existing is None:
        # Kept blocked, not dropped: the deal or account that places it may come next.
        what = f"{_vendor(connection)} account {data.account_crm_id or '(none)'}"
        return Applied(
            State.BLOCKED,
            "The contact's account is not known yet.",
            blockers={
                "account": [
                    f"The contact belongs to {what}, which Afterwin does not know yet: it is "
                    "taken in when its account or one of its deals arrives."
                ]
            },
        )
    try:
        contact = _contact_upsert(connection, data, account)
    except DomainError as exc:
        return Applied(State.BLOCKED, exc.message, blockers=exc.as_dict())
    if contact is None:
        return Applied(State.IGNORED, "The CRM sent a contact without a name or email.")
    return Applied(
        State.PROCESSED,
        result={
            "contact_id": contact.pk,
            "contact": str(contact),
            "account_id": contact.account_id,
        },
        retry_blocked=True,
    )


def _line_item_event(connection, data: LineItemData) -> Applied:
    deal = _linked(Deal, connection, CrmLink.Kind.DEAL, data.deal_crm_id)
    if deal is None:
        # Salesforce sends line items in their own messages, in any order: kept until the
        # deal arrives, which applies it before it closes (_waiting_line_items_apply).
        what = f"{_vendor(connection)} deal {data.deal_crm_id or '(none)'}"
        return Applied(
            State.BLOCKED,
            "The line item's deal is not in Afterwin yet.",
            blockers={
                "deal": [
                    f"The line item belongs to {what}, which Afterwin does not have yet: it "
                    "is added to the deal when the deal arrives."
                ]
            },
            result={"deal_crm_id": data.deal_crm_id},
        )
    if deal.is_closed:
        return Applied(State.IGNORED, f"“{deal.name}” is closed: its line items are a record.")
    problems: dict[str, list[str]] = {}
    _line_upsert(connection, deal, data.line, problems)
    if problems:
        return Applied(State.BLOCKED, "A line item names no Afterwin product.", blockers=problems)
    return Applied(
        State.PROCESSED, result={"deal_id": deal.pk, "deal": deal.name}, retry_blocked=True
    )


def _waiting_line_items_apply(
    connection, event: InboundEvent, deal: Deal, data: DealData, problems: dict
) -> None:
    """Line items that arrived before their deal (blocked, waiting for it) join it now,
    before it closes. Only Salesforce sends them apart, and reading its message is parsing,
    no API call, so it is read again here inside the transaction."""
    waiting = InboundEvent.objects.select_for_update().filter(
        connection=connection, state=State.BLOCKED, result__deal_crm_id=data.crm_id
    )
    for waiting_event in waiting.exclude(pk=event.pk).order_by("created_at", "id"):
        snapshot = adapter(waiting_event.vendor).read(connection, waiting_event)
        if not isinstance(snapshot, LineItemData):
            continue
        own: dict[str, list[str]] = {}
        _line_upsert(connection, deal, snapshot.line, own)
        for name, messages in own.items():
            problems.setdefault(name, []).extend(messages)
        InboundEvent.objects.filter(pk=waiting_event.pk).update(
            state=State.BLOCKED if own else State.PROCESSED,
            reason="A line item names no Afterwin product." if own else "",
            blockers=own,
            result={"deal_crm_id": data.crm_id, "deal_id": deal.pk, "deal": deal.name},
            processed_at=clock.now(),
        )


def _line_items_awaited(
    connection, event: InboundEvent, deal: Deal, data: DealData
) -> Applied | None:
    """A won deal of a connection whose line items come in their own messages waits
    ``LINE_ITEM_WAIT`` after its message for them, then closes with those that came (or
    the default product's line when none did)."""
    if not (connection.line_items_separate and data.outcome == "won" and not deal.is_closed):
        return None
    until = event.created_at + LINE_ITEM_WAIT
    if clock.now() >= until:
        return None
    return Applied(
        State.BLOCKED,
        "Waiting for the deal's line items.",
        blockers={
            "line_items": [
                f"The {_vendor(connection)} line items come in their own messages: the deal "
                f"closes at {until:%H:%M:%S} UTC with those that arrived by then, or with the "
                "default product's line when none did."
            ]
        },
        retry_at=until,
    )


def _line_product(line: LineData) -> Product | None:
    """The Afterwin product a CRM line item sells: by SKU, else by its name when exactly
    one product has that name (CRMs whose products carry no SKU)."""
    if line.sku:
        product = Product.objects.filter(sku=line.sku).first()
        if product is not None:
            return product
    if line.name.strip():
        named = list(Product.objects.filter(name__iexact=line.name.strip())[:2])
        if len(named) == 1:
            return named[0]
    return None


def _line_upsert(connection, deal: Deal, line: LineData, problems: dict) -> DealLineItem | None:
    product = _line_product(line)
    if product is None:
        label = line.name or line.crm_id
        problems.setdefault("line_items", []).append(
            f"The {_vendor(connection)} line item “{label}” has "
            + (f"SKU “{line.sku}”, which no Afterwin product has" if line.sku else "no SKU")
            + ", and no one Afterwin product has its name: add the product in Afterwin "
            "(or the SKU in the CRM), then replay the event."
        )
        return None
    price = line.unit_price if line.unit_price is not None else product.list_price
    quantity = max(1, line.quantity)
    item = _linked(DealLineItem, connection, CrmLink.Kind.LINE_ITEM, line.crm_id)
    if item is not None and item.deal_id == deal.pk:
        return line_item_update(
            item=item,
            actor=None,
            source=WEBHOOK,
            product=product,
            quantity=quantity,
            unit_price=price,
        )
    item = line_item_add(
        deal=deal, actor=None, product=product, quantity=quantity, unit_price=price, source=WEBHOOK
    )
    _link_save(connection, CrmLink.Kind.LINE_ITEM, line.crm_id, item.pk)
    return item


def _line_items_sync(connection, deal: Deal, data: DealData, problems: dict) -> None:
    """Make an open deal's line items the CRM's; a CRM that sends none gives a won deal
    (only a won one: a lost deal's product family would skew the loss figures) one line of
    the connection's default product at the deal's amount."""
    default_key = f"default:{data.crm_id}"
    default_item = _linked(DealLineItem, connection, CrmLink.Kind.LINE_ITEM, default_key)
    if not data.line_items:
        product = connection.default_product
        if default_item is not None:
            if deal.amount and default_item.unit_price != deal.amount:
                line_item_update(
                    item=default_item, actor=None, source=WEBHOOK, unit_price=deal.amount
                )
        elif (
            data.outcome == "won"
            and product is not None
            and deal.amount
            and not deal.line_items.exists()
        ):
            item = line_item_add(
                deal=deal,
                actor=None,
                product=product,
                quantity=1,
                unit_price=deal.amount,
                source=WEBHOOK,
            )
            _link_save(connection, CrmLink.Kind.LINE_ITEM, default_key, item.pk)
        return
    kept = set()
    for line in data.line_items:
        item = _line_upsert(connection, deal, line, problems)
        if item is not None:
            kept.add(item.pk)
    items = list(deal.line_items.all())
    linked_ids = set(
        CrmLink.objects.filter(
            connection=connection,
            kind=CrmLink.Kind.LINE_ITEM,
            local_id__in=[item.pk for item in items],
        ).values_list("local_id", flat=True)
    )
    for item in items:
        if item.pk in linked_ids and item.pk not in kept and not problems:
            line_item_remove(item=item, actor=None, source=WEBHOOK)


def _default_line_remove(connection, deal: Deal, data: DealData) -> None:
    """A won deal the CRM now says is lost loses the default product's line it was given
    for being won (only won deals have it)."""
    link = _link(connection, CrmLink.Kind.LINE_ITEM, f"default:{data.crm_id}")
    item = DealLineItem.objects.filter(pk=link.local_id, deal=deal).first() if link else None
    if item is not None:
        line_item_remove(item=item, actor=None, source=WEBHOOK)
        link.delete()


def _owner(connection, data: DealData):
    refs = [ref for ref in (data.owner_id, data.owner_email) if ref]
    mapping = (
        CrmOwnerMapping.objects.filter(connection=connection, crm_owner__in=refs)
        .select_related("user")
        .first()
    )
    if mapping is not None:
        return mapping.user
    if data.owner_email:
        user = (
            get_user_model()
            .objects.filter(email__iexact=data.owner_email, is_active=True)
            .order_by("pk")
            .first()
        )
        if user is not None:
            return user
    return connection.default_owner


def _reason(model, default, named: str):
    if named:
        found = model.objects.filter(name__iexact=named.strip(), active=True).first()
        if found is not None:
            return found
    return default


def _deal_event(connection, event: InboundEvent, data: DealData) -> Applied:
    vendor = _vendor(connection)
    link = (
        CrmLink.objects.select_for_update()
        .filter(connection=connection, kind=CrmLink.Kind.DEAL, crm_id=data.crm_id)
        .first()
    )
    if link and data.changed_at and link.last_change_at and data.changed_at < link.last_change_at:
        return Applied(
            State.IGNORED,
            f"An older change of the {vendor} deal than the one applied already (it arrived late).",
        )
    deal = Deal.objects.filter(pk=link.local_id).first() if link else None
    if deal is None and data.outcome == "open":
        return Applied(
            State.IGNORED,
            f"The {vendor} deal is in {data.stage_word} “{data.stage_label}”, neither won nor "
            "lost: Afterwin takes a deal in when it is won or lost.",
        )
    _supersede(connection, event, data)
    links_before = CrmLink.objects.filter(connection=connection).count()

    if deal is not None:
        account = deal.account
    else:
        try:
            account = _account_upsert(connection, data.account) if data.account else None
        except DomainError as exc:
            return Applied(State.BLOCKED, exc.message, blockers=exc.as_dict())
        account = account or _linked(Account, connection, CrmLink.Kind.ACCOUNT, data.account_crm_id)
    if account is None:
        what = f"{vendor} account {data.account_crm_id}" if data.account_crm_id else "no account"
        return Applied(
            State.BLOCKED,
            "The deal's account is not known.",
            blockers={
                "account": [
                    f"The deal has {what} that Afterwin knows: send the account (company, "
                    "organization, lead) to Afterwin, then the deal is tried again."
                    if data.account_crm_id
                    else "The deal has no account (company) in the CRM: add one there."
                ]
            },
        )
    result: dict[str, Any] = {"account_id": account.pk, "account": account.name}
    if data.notes:  # what the CRM could not tell, e.g. an owner it would not show
        result["notes"] = list(data.notes)
    try:
        for contact in data.contacts:
            _contact_upsert(connection, contact, account)
    except DomainError as exc:
        return Applied(State.BLOCKED, exc.message, blockers=exc.as_dict(), result=result)
    primary = _linked(Contact, connection, CrmLink.Kind.CONTACT, data.primary_contact_crm_id)
    if primary is not None and primary.account_id != account.pk:
        primary = None
    owner = _owner(connection, data)
    currency = (data.currency or connection.default_currency).upper()

    try:
        if deal is None:
            deal = deal_create(
                actor=None,
                account=account,
                name=data.name[:200],
                owner=owner,
                amount=data.amount,
                currency=currency,
                close_date=data.close_date,
                primary_contact=primary,
            )
            link = _link_save(connection, CrmLink.Kind.DEAL, data.crm_id, deal.pk)
            result["created"] = True
        else:
            changes: dict[str, Any] = {"name": data.name[:200]}
            if primary is not None:
                changes["primary_contact"] = primary
            if not deal.is_closed:  # a closed deal's commercial fields are a record
                changes["currency"] = currency
                if data.amount is not None:
                    changes["amount"] = data.amount
                if owner is not None:
                    changes["owner"] = owner
                if data.close_date:
                    changes["close_date"] = data.close_date
            deal_update(deal=deal, actor=None, source=WEBHOOK, **changes)
    except DomainError as exc:
        return Applied(State.BLOCKED, exc.message, blockers=exc.as_dict(), result=result)
    result |= {"deal_id": deal.pk, "deal": deal.name}
    link.crm_contact_id = data.primary_contact_crm_id
    if data.changed_at:
        link.last_change_at = data.changed_at
    link.save(update_fields=["crm_contact_id", "last_change_at"])

    problems: dict[str, list[str]] = {}
    if not deal.is_closed:
        _waiting_line_items_apply(connection, event, deal, data, problems)
    applied = _line_items_awaited(connection, event, deal, data)
    if applied is not None:
        applied.result = result
    else:
        if not deal.is_closed:
            _line_items_sync(connection, deal, data, problems)
        applied = _outcome_apply(connection, deal, data, problems, result)
    # An account or contact taken in with this deal may be what blocked events await.
    applied.retry_blocked = CrmLink.objects.filter(connection=connection).count() > links_before
    return applied


def _supersede(connection, event: InboundEvent, data: DealData) -> None:
    """Blocked events of the same deal are settled by this newer one."""
    InboundEvent.objects.filter(
        connection=connection,
        state=State.BLOCKED,
        object_type=event.object_type,
        object_id=event.object_id,
    ).exclude(pk=event.pk).update(
        state=State.IGNORED,
        reason=f"Superseded by a later delivery of the same deal (event {event.pk}).",
        processed_at=clock.now(),
    )


def _closed_by_person(deal: Deal) -> str:
    """Why the CRM may not change this closed deal: a person closed it (or reopened and
    closed it) in Afterwin. Empty when its last stage change came from the CRM."""
    if not deal.is_closed:
        return ""
    last = deal.stage_changes.select_related("actor").order_by("-occurred_at", "-id").first()
    if last is None or last.source == WEBHOOK:
        return ""
    person = last.actor
    who = (person.get_full_name() or person.get_username()) if person else "someone"
    return (
        f"“{deal.name}” was closed by {who} in Afterwin on "
        f"{date_text(timezone.localdate(last.occurred_at))}; the CRM does not change it."
    )


def _kept_as_closed(deal: Deal, result: dict) -> Applied | None:
    reason = _closed_by_person(deal)
    if not reason:
        return None
    result["transition"] = "none: closed in Afterwin, not by the CRM"
    return Applied(State.IGNORED, reason, result=result)


def _outcome_apply(connection, deal: Deal, data: DealData, problems: dict, result: dict) -> Applied:
    """Won, lost or open in the CRM. Only a close the CRM made (its last stage change has
    source "webhook") is changed by the CRM: a deal a person closed in Afterwin stays as
    they left it, and the event is recorded as ignored with who closed it and when."""
    vendor = _vendor(connection)
    stage = f" ({data.stage_word} “{data.stage_label}”)" if data.stage_label else ""
    if data.outcome == "won":
        if deal.stage == Stage.CLOSED_WON:
            result["transition"] = "none: already won"
            return Applied(State.PROCESSED, result=result)
        if kept := _kept_as_closed(deal, result):
            return kept
        win_reason = _reason(WinReason, connection.default_win_reason, data.reason_text)
        notes = f"Won in {vendor}" + (f": {data.reason_text}" if data.reason_text else "") + stage
        today = local_today(deal.owner)
        close_date = data.close_date if data.close_date and data.close_date <= today else None
        try:
            if problems:
                raise ValidationFailed("This deal cannot be closed as won yet.", problems)
            with transaction.atomic():
                _csm_default(connection, deal.account)
                if deal.stage == Stage.CLOSED_LOST:
                    deal_reopen(deal=deal, actor=None, source=WEBHOOK, reason=f"Won in {vendor}")
                    # Lost, it had no default line: now won, it takes the CRM's lines or one.
                    _line_items_sync(connection, deal, data, problems)
                    if problems:
                        raise ValidationFailed("This deal cannot be closed as won yet.", problems)
                deal_close_won(
                    deal=deal,
                    actor=None,
                    source=WEBHOOK,
                    win_reason=win_reason,
                    win_notes=notes,
                    close_date=close_date,
                )
        except ValidationFailed as exc:
            deal.refresh_from_db()
            blockers = {
                **deal_close_won_blockers(deal=deal, win_reason=win_reason, win_notes=notes)
            }
            for name, messages in exc.errors.items():
                blockers[name] = list(dict.fromkeys([*blockers.get(name, []), *messages]))
            if "win_reason" in blockers and win_reason is None:
                blockers["win_reason"] = [
                    f"Choose a default win reason on the connection “{connection.name}”"
                    + (
                        f" (the CRM's “{data.reason_text}” names none)."
                        if data.reason_text
                        else "."
                    )
                ]
            return Applied(State.BLOCKED, exc.message, blockers=blockers, result=result)
        result["transition"] = "close_won"
        return Applied(State.PROCESSED, result=result)
    if problems:
        return Applied(State.BLOCKED, "A line item names no Afterwin product.", problems, result)
    if data.outcome == "lost":
        if deal.stage == Stage.CLOSED_LOST:
            result["transition"] = "none: already lost"
            return Applied(State.PROCESSED, result=result)
        if kept := _kept_as_closed(deal, result):
            return kept
        loss_reason = _reason(LossReason, connection.default_loss_reason, data.reason_text)
        if loss_reason is None:
            return Applied(
                State.BLOCKED,
                "This deal cannot be closed as lost yet.",
                {
                    "loss_reason": [
                        f"Choose a default loss reason on the connection “{connection.name}”."
                    ]
                },
                result,
            )
        with transaction.atomic():
            if deal.stage == Stage.CLOSED_WON:
                deal_reopen(deal=deal, actor=None, source=WEBHOOK, reason=f"Lost in {vendor}")
                _default_line_remove(connection, deal, data)
            deal_close_lost(
                deal=deal,
                actor=None,
                source=WEBHOOK,
                loss_reason=loss_reason,
                loss_notes=f"Lost in {vendor}"
                + (f": {data.reason_text}" if data.reason_text else "")
                + stage,
            )
        result["transition"] = "close_lost"
        return Applied(State.PROCESSED, result=result)
    # Open in the CRM: reopen a deal the CRM closed (never one a person closed here).
    if deal.is_closed:
        if kept := _kept_as_closed(deal, result):
            return kept
        deal_reopen(deal=deal, actor=None, source=WEBHOOK, reason=f"Reopened in {vendor}{stage}")
        result["transition"] = "reopen"
        return Applied(State.PROCESSED, result=result)
    result["transition"] = "none: open"
    return Applied(State.PROCESSED, result=result)
