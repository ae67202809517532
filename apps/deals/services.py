"""Deal writes. Admin, API, UI and CRM integrations create deals, edit their details and
line items and change their stages through here.

Every function is atomic: the stage, the ``StageChange`` audit row and the outbox event
commit together, and so do a field's change and its ``DealFieldChange``. A refused write
raises a domain error carrying every problem keyed by field, and writes nothing. The
stage changes only through the transitions.

A closed deal is a record: its commercial fields (``COMMERCIAL_FIELDS``, the line items,
the win or loss reason) refuse changes with a 409 that says to reopen it first. A rep
changes only the deals they own; ``deals.act_on_any_deal`` (sales managers, CS managers,
admins) acts on every deal.
"""

import datetime as dt
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from django.db import transaction
from django.utils import timezone
from django_fsm import ConcurrentTransition, can_proceed, has_transition_perm

from apps.core import clock
from apps.core.errors import Conflict, NotPermitted, ValidationFailed
from apps.core.events import event_emit
from apps.core.models import Profile
from apps.core.validators import currency_codes
from apps.core.writes import (
    model_changes_apply,
    model_validate,
    require_known_fields,
    require_permission,
)
from apps.customers.models import Account, Contact, Product
from apps.customers.services import account_won
from apps.deals.models import (
    Deal,
    DealFieldChange,
    DealLineItem,
    LossReason,
    Stage,
    StageChange,
    WinReason,
)

logger = logging.getLogger(__name__)

Source = StageChange.Source


@dataclass(frozen=True)
class TransitionInfo:
    name: str
    label: str
    target: str


def _transition_infos() -> dict[str, TransitionInfo]:
    infos = {}
    for t in Deal._meta.get_field("stage").get_all_transitions(Deal):
        infos.setdefault(
            t.name,
            TransitionInfo(name=t.name, label=t.custom.get("label", t.name), target=t.target),
        )
    return infos


TRANSITIONS: dict[str, TransitionInfo] = _transition_infos()
STAGE_MOVES = {"move_to_new", "qualify", "propose", "negotiate"}
# What people edit on a deal; the stage and the win/loss details belong to transitions.
DEAL_DETAILS = (
    "name",
    "account",
    "owner",
    "kind",
    "pipeline",
    "amount",
    "currency",
    "close_date",
    "term_months",
    "primary_contact",
)


# What a closed deal keeps as it was won or lost (the win and loss details change only
# through the transitions, the line items only through the line-item services).
COMMERCIAL_FIELDS = ("amount", "currency", "close_date", "term_months")


# Who may act, and on what -------------------------------------------------------------


def require_deal_access(deal: Deal, actor: Any, doing: str) -> None:
    """Refuse a rep acting on a deal someone else owns. No actor is the system itself."""
    if actor is None or actor.has_perm("deals.act_on_any_deal"):
        return
    if deal.owner_id != actor.pk:
        owner = deal.owner.get_full_name() or deal.owner.username if deal.owner else "nobody"
        raise NotPermitted(
            f"“{deal.name}” is owned by {owner}: only its owner or a sales manager may {doing}."
        )


def require_open(deal: Deal, what: str) -> None:
    if deal.is_closed:
        raise Conflict(
            f"“{deal.name}” is {deal.get_stage_display().lower()}: its {what} is a record "
            "now. Reopen the deal first (reopening needs its own permission and a reason)."
        )


def _shown(value: Any) -> str:
    if value is None:
        return ""
    return str(value)


def _audit(
    deal: Deal, actor: Any, source: str, changes: list[tuple[str, Any, Any]]
) -> list[DealFieldChange]:
    return DealFieldChange.objects.bulk_create(
        [
            DealFieldChange(
                deal=deal,
                field=field,
                old_value=_shown(old),
                new_value=_shown(new),
                actor=actor,
                source=source,
            )
            for field, old, new in changes
        ]
    )


# Details --------------------------------------------------------------------------------


def _details_check(deal: Deal, *, message: str, fields: Iterable[str]) -> None:
    """The model's own rules and the deal's on ``fields``, every problem keyed by field.
    (The protected stage field cannot be cleaned: full_clean would assign it.)"""
    problems: dict[str, list[str]] = {}
    try:
        model_validate(deal, message=message, fields=fields)
    except ValidationFailed as exc:
        problems.update(exc.errors)
    if (
        {"account", "primary_contact"} & set(fields)
        and deal.primary_contact_id
        and "primary_contact" not in problems
    ):
        contact = deal.primary_contact
        if contact.account_id != deal.account_id:
            problems["primary_contact"] = [
                f"{contact.name} is not a contact of {deal.account.name}."
            ]
    if problems:
        raise ValidationFailed(message, problems)


@transaction.atomic
def deal_create(
    *, actor: Any, account: Account, name: str, source: str = Deal.Source.SALES, **details: Any
) -> Deal:
    """Create a deal, which starts as new; ``details`` are any of ``DEAL_DETAILS``. Every
    problem is reported by field and nothing is saved. ``source`` is set here only: a
    deal's source never changes."""
    require_known_fields(details, DEAL_DETAILS)
    require_permission(actor, "deals.add_deal", "You may not create deals.")
    if details.get("owner") is None and actor is not None:
        details["owner"] = actor  # a rep's new deal is theirs unless they say whose
    deal = Deal(account=account, name=name, source=source, **details)
    _details_check(deal, message="The deal was not created.", fields=DEAL_DETAILS)
    deal.save()
    return deal


@transaction.atomic
def deal_update(*, deal: Deal, actor: Any, source: str = Source.SYSTEM, **changes: Any) -> Deal:
    """Edit a deal's details (``DEAL_DETAILS``). Saves only what changed, each change
    audited with the old and new value; a refusal names the field and saves nothing. A
    closed deal's commercial fields refuse with a Conflict, and so does a stage change
    made meanwhile by someone else."""
    require_known_fields(changes, DEAL_DETAILS)
    require_permission(actor, "deals.change_deal", "You may not change deals.")
    require_deal_access(deal, actor, "change it")
    before = {name: getattr(deal, name) for name in changes}
    changed = model_changes_apply(deal, changes)
    if not changed:
        return deal
    locked = [name for name in changed if name in COMMERCIAL_FIELDS]
    if locked and deal.is_closed:
        for name in changed:  # the caller's object stays as stored
            setattr(deal, name, before[name])
        require_open(deal, ", ".join(Deal._meta.get_field(n).verbose_name for n in locked))
    _details_check(deal, message="The deal was not saved.", fields=changed)
    try:
        deal.save(update_fields=[*changed, "updated_at"])
    except ConcurrentTransition:
        # The mixin saves only if the stage is still the one we loaded.
        raise Conflict(
            "This deal's stage changed while you were editing it; reload it and try again."
        ) from None
    _audit(deal, actor, source, [(name, before[name], getattr(deal, name)) for name in changed])
    return deal


# Line items -----------------------------------------------------------------------------


def _line_text(item: DealLineItem) -> str:
    return f"{item.quantity} × {item.product.sku} at {item.unit_price}"


def _line_item_check(item: DealLineItem, message: str) -> None:
    model_validate(item, message=message, fields=["product", "quantity", "unit_price"])


@transaction.atomic
def line_item_add(
    *,
    deal: Deal,
    actor: Any,
    product: Product,
    quantity: int,
    unit_price: Any,
    source: str = Source.SYSTEM,
) -> DealLineItem:
    """Add a line item to an open deal (audited)."""
    require_permission(actor, "deals.add_deallineitem", "You may not add line items.")
    require_deal_access(deal, actor, "change its line items")
    require_open(deal, "line items")
    item = DealLineItem(deal=deal, product=product, quantity=quantity, unit_price=unit_price)
    _line_item_check(item, "The line item was not added.")
    item.save()
    _audit(deal, actor, source, [("line_items", "", f"added {_line_text(item)}")])
    return item


@transaction.atomic
def line_item_update(
    *, item: DealLineItem, actor: Any, source: str = Source.SYSTEM, **changes: Any
) -> DealLineItem:
    """Change a line item of an open deal (product, quantity, unit price; audited)."""
    require_known_fields(changes, ("product", "quantity", "unit_price"))
    require_permission(actor, "deals.change_deallineitem", "You may not change line items.")
    deal = item.deal
    require_deal_access(deal, actor, "change its line items")
    before = _line_text(item)
    if not model_changes_apply(item, changes):
        return item
    require_open(deal, "line items")
    _line_item_check(item, "The line item was not saved.")
    item.save()
    _audit(deal, actor, source, [("line_items", before, _line_text(item))])
    return item


@transaction.atomic
def line_item_remove(*, item: DealLineItem, actor: Any, source: str = Source.SYSTEM) -> None:
    """Remove a line item from an open deal (audited)."""
    require_permission(actor, "deals.delete_deallineitem", "You may not remove line items.")
    deal = item.deal
    require_deal_access(deal, actor, "change its line items")
    require_open(deal, "line items")
    _audit(deal, actor, source, [("line_items", f"removed {_line_text(item)}", "")])
    item.delete()


# Transitions ----------------------------------------------------------------------------


def deal_available_transitions(*, deal: Deal, user: Any) -> list[TransitionInfo]:
    """Transitions possible from the deal's stage that ``user`` is permitted to run."""
    return [
        info for name, info in TRANSITIONS.items() if has_transition_perm(getattr(deal, name), user)
    ]


def deal_effective_primary_contact(deal: Deal) -> Contact | None:
    if deal.primary_contact_id:
        return deal.primary_contact
    return deal.account.contacts.filter(is_primary=True).first()


def deal_close_won_blockers(
    *, deal: Deal, win_reason: WinReason | None, win_notes: str
) -> dict[str, list[str]]:
    """Everything that stops ``deal`` from being closed as won, keyed by field."""
    blockers: dict[str, list[str]] = {}

    def block(field: str, message: str) -> None:
        blockers.setdefault(field, []).append(message)

    if deal.amount is None or deal.amount <= 0:
        block("amount", "Enter an amount greater than zero.")
    if not deal.currency:
        block("currency", "Enter an ISO 4217 currency code such as USD.")
    elif deal.currency not in currency_codes():
        block("currency", f"“{deal.currency}” is not an ISO 4217 currency code (for example EUR).")
    if deal.close_date is None:
        block("close_date", "Enter the close date.")
    contact = deal_effective_primary_contact(deal)
    if contact is None:
        block(
            "primary_contact", "Choose a primary contact; neither the deal nor the account has one."
        )
    elif contact.account_id != deal.account_id:
        block("primary_contact", f"{contact.name} is not a contact of {deal.account.name}.")
    elif not contact.email:
        block("primary_contact", f"The primary contact {contact.name} has no email address.")
    if deal.pk is None or not deal.line_items.exists():
        block("line_items", "Add at least one line item (what the customer bought).")
    if win_reason is None:
        block("win_reason", "Choose a win reason.")
    elif not win_reason.active:
        block("win_reason", f"The win reason “{win_reason}” is no longer in use.")
    if not (win_notes or "").strip():
        block("win_notes", "Describe why the deal was won.")
    return blockers


def local_today(person: Any) -> dt.date:
    """Today in ``person``'s time zone (their profile's), or in the server's without one."""
    now = clock.now()
    profile = Profile.objects.filter(user_id=getattr(person, "pk", None)).first()
    if profile is None:
        return timezone.localdate(now)
    return now.astimezone(ZoneInfo(profile.timezone)).date()


def _check_can_run(*, deal: Deal, name: str, actor: Any) -> None:
    method = getattr(deal, name)
    if not can_proceed(method):
        label = TRANSITIONS[name].label.lower()
        raise Conflict(
            f"A deal in stage “{deal.get_stage_display()}” cannot be moved with “{label}”."
        )
    if actor is not None and not has_transition_perm(method, actor):
        raise NotPermitted(f"You do not have permission to “{TRANSITIONS[name].label.lower()}”.")
    require_deal_access(deal, actor, f"“{TRANSITIONS[name].label.lower()}”")


def _run(
    *,
    deal: Deal,
    name: str,
    actor: Any,
    source: str,
    reason: str,
    event_name: str,
    event_payload: dict | None = None,
) -> StageChange:
    from_stage = deal.stage
    getattr(deal, name)()
    try:
        deal.save()
    except ConcurrentTransition:
        raise Conflict(
            "This deal was changed by someone else a moment ago; reload it and try again."
        ) from None
    change = StageChange.objects.create(
        deal=deal,
        transition=name,
        from_stage=from_stage,
        to_stage=deal.stage,
        actor=actor,
        source=source,
        reason=reason,
    )
    event_emit(
        name=event_name,
        aggregate=deal,
        actor=actor,
        payload={
            "deal_id": deal.pk,
            "account_id": deal.account_id,
            "from_stage": from_stage,
            "to_stage": deal.stage,
            "stage_change_id": change.pk,
            "source": source,
            **(event_payload or {}),
        },
    )
    logger.info("deal %s: %s -> %s (%s by %s)", deal.pk, from_stage, deal.stage, source, actor)
    return change


@transaction.atomic
def deal_close_won(
    *,
    deal: Deal,
    actor: Any,
    source: str,
    win_reason: WinReason | None,
    win_notes: str,
    close_date: dt.date | None = None,
) -> StageChange:
    """Close ``deal`` as won after checking every closed-won requirement. The close date
    is the day it was won: not in the future, and today in the rep's time zone when not
    given."""
    _check_can_run(deal=deal, name="close_won", actor=actor)
    today = local_today(actor or deal.owner)
    if close_date is not None and close_date > today:
        raise ValidationFailed(
            "This deal cannot be closed as won yet.",
            {"close_date": [f"A deal is won on a day that has come: {today:%d %b %Y} or before."]},
        )
    deal.close_date = close_date or today
    blockers = deal_close_won_blockers(deal=deal, win_reason=win_reason, win_notes=win_notes)
    if blockers:
        raise ValidationFailed("This deal cannot be closed as won yet.", blockers)
    deal.primary_contact = deal_effective_primary_contact(deal)
    deal.win_reason = win_reason
    deal.win_notes = win_notes.strip()
    deal.loss_reason, deal.loss_notes = None, ""
    change = _run(
        deal=deal,
        name="close_won",
        actor=actor,
        source=source,
        reason=f"{win_reason}: {deal.win_notes}",
        event_name="deal.closed_won",
    )
    account_won(account=deal.account, deal_name=deal.name)
    return change


@transaction.atomic
def deal_close_lost(
    *, deal: Deal, actor: Any, source: str, loss_reason: LossReason | None, loss_notes: str = ""
) -> StageChange:
    """Close ``deal`` as lost; a loss reason is required."""
    _check_can_run(deal=deal, name="close_lost", actor=actor)
    if loss_reason is None:
        raise ValidationFailed(
            "This deal cannot be closed as lost yet.", {"loss_reason": ["Choose a loss reason."]}
        )
    if not loss_reason.active:
        raise ValidationFailed(
            "This deal cannot be closed as lost yet.",
            {"loss_reason": [f"The loss reason “{loss_reason}” is no longer in use."]},
        )
    deal.loss_reason = loss_reason
    deal.loss_notes = (loss_notes or "").strip()
    return _run(
        deal=deal,
        name="close_lost",
        actor=actor,
        source=source,
        reason=f"{loss_reason}: {deal.loss_notes}".rstrip(": "),
        event_name="deal.closed_lost",
    )


@transaction.atomic
def deal_reopen(*, deal: Deal, actor: Any, source: str, reason: str) -> StageChange:
    """Take a closed deal back to negotiation. Needs a reason and ``deals.reopen_deal``."""
    _check_can_run(deal=deal, name="reopen", actor=actor)
    if not (reason or "").strip():
        raise ValidationFailed(
            "A reason is required to reopen a deal.",
            {"reason": ["Say why the deal is being reopened."]},
        )
    previous = deal.stage
    return _run(
        deal=deal,
        name="reopen",
        actor=actor,
        source=source,
        reason=reason.strip(),
        event_name="deal.reopened",
        event_payload={"reopened_from": previous},
    )


@transaction.atomic
def deal_move(*, deal: Deal, name: str, actor: Any, source: str, reason: str = "") -> StageChange:
    """Move an open deal to another open stage (forwards or back)."""
    if name not in STAGE_MOVES:
        raise ValidationFailed(
            "Unknown stage move.",
            {"transition": [f"“{name}” is not one of: {', '.join(sorted(STAGE_MOVES))}."]},
        )
    _check_can_run(deal=deal, name=name, actor=actor)
    return _run(
        deal=deal,
        name=name,
        actor=actor,
        source=source,
        reason=(reason or "").strip(),
        event_name="deal.stage_changed",
    )


def deal_transition(
    *, deal: Deal, name: str, actor: Any, source: str, data: dict[str, Any]
) -> StageChange:
    """Run the transition called ``name`` with already-validated ``data``.

    The one entry point for callers that pick a transition by name (API, admin, CRM
    notifications).
    """
    if name == "close_won":
        return deal_close_won(
            deal=deal,
            actor=actor,
            source=source,
            win_reason=data.get("win_reason"),
            win_notes=data.get("win_notes", ""),
            close_date=data.get("close_date"),
        )
    if name == "close_lost":
        return deal_close_lost(
            deal=deal,
            actor=actor,
            source=source,
            loss_reason=data.get("loss_reason"),
            loss_notes=data.get("loss_notes", ""),
        )
    if name == "reopen":
        return deal_reopen(deal=deal, actor=actor, source=source, reason=data.get("reason", ""))
    return deal_move(
        deal=deal, name=name, actor=actor, source=source, reason=data.get("reason", "")
    )


__all__ = [
    "DEAL_DETAILS",
    "STAGE_MOVES",
    "TRANSITIONS",
    "Source",
    "Stage",
    "deal_available_transitions",
    "deal_close_lost",
    "deal_close_won",
    "deal_close_won_blockers",
    "deal_create",
    "deal_move",
    "deal_reopen",
    "deal_transition",
    "deal_update",
]
