"""Account and contact writes. The API and admin create and change them here; a change
of lifecycle is one that other parts of the product react to."""

from typing import Any

from django.db import IntegrityError, transaction

from apps.core.errors import Conflict, NotPermitted, ValidationFailed
from apps.core.events import event_emit
from apps.core.writes import (
    model_changes_apply,
    model_validate,
    require_known_fields,
    require_permission,
)
from apps.customers.models import Account, AccountLifecycleChange, ConsentChange, Contact

# Lifecycle changes go through account_set_lifecycle, which the update hands them to.
ACCOUNT_DETAILS = ("name", "domain", "timezone", "country", "tier", "segment", "owner", "csm")
CONTACT_DETAILS = ("name", "email", "title", "is_primary", "unsubscribed")


# Accounts -------------------------------------------------------------------------------


@transaction.atomic
def account_create(*, actor: Any, name: str, **details: Any) -> Account:
    """Create an account; ``details`` are any of ``ACCOUNT_DETAILS`` and
    ``lifecycle_status``. Every problem is reported by field and nothing is saved."""
    require_known_fields(details, (*ACCOUNT_DETAILS, "lifecycle_status"))
    require_permission(actor, "customers.add_account", "You may not create accounts.")
    account = Account(name=name, **details)
    model_validate(account, message="The account was not created.")
    account.save()
    return account


@transaction.atomic
def account_update(*, account: Account, actor: Any, **changes: Any) -> Account:
    """Change an account's details (``ACCOUNT_DETAILS``) and, with ``lifecycle_status``,
    move it through its lifecycle (churning cancels its playbooks). Saves only what
    changed; a refusal names the field and saves nothing."""
    require_known_fields(changes, (*ACCOUNT_DETAILS, "lifecycle_status"))
    require_permission(actor, "customers.change_account", "You may not change accounts.")
    status = changes.pop("lifecycle_status", None)
    changed = model_changes_apply(account, changes)
    if changed:
        model_validate(account, message="The account was not saved.", fields=changed)
        account.save(update_fields=[*changed, "updated_at"])
    if status is not None:
        moved = account_set_lifecycle(account=account, status=status, actor=actor)
        account.lifecycle_status, account.updated_at = moved.lifecycle_status, moved.updated_at
    return account


# Where an account may go from each lifecycle status. Winning a first deal (or winning
# again after churning) moves it to onboarding; the onboarding playbook (or a person)
# says when it is active; the churn action ends it.
LIFECYCLE_MOVES = {
    Account.Lifecycle.PROSPECT: {Account.Lifecycle.ONBOARDING, Account.Lifecycle.CHURNED},
    Account.Lifecycle.ONBOARDING: {
        Account.Lifecycle.ACTIVE,
        Account.Lifecycle.AT_RISK,
        Account.Lifecycle.CHURNED,
    },
    Account.Lifecycle.ACTIVE: {Account.Lifecycle.AT_RISK, Account.Lifecycle.CHURNED},
    Account.Lifecycle.AT_RISK: {Account.Lifecycle.ACTIVE, Account.Lifecycle.CHURNED},
    Account.Lifecycle.CHURNED: {Account.Lifecycle.ONBOARDING},
}


@transaction.atomic
def account_set_lifecycle(
    *, account: Account, status: str, actor: Any, reason: str = ""
) -> Account:
    """Move an account through its lifecycle (``LIFECYCLE_MOVES``). Each move is recorded
    (``AccountLifecycleChange``) and emits ``account.lifecycle_changed``; becoming churned
    also emits ``account.churned``, which cancels the account's running playbooks and
    their open work. A move the lifecycle does not allow is refused, naming the ones it
    does."""
    if status not in Account.Lifecycle.values:
        raise ValidationFailed(
            "Unknown lifecycle status.",
            {"lifecycle_status": [f"Use one of: {', '.join(Account.Lifecycle.values)}."]},
        )
    account = Account.objects.select_for_update().get(pk=account.pk)
    previous = account.lifecycle_status
    if previous == status:
        return account
    allowed = LIFECYCLE_MOVES.get(previous, set())
    if status not in allowed:
        names = ", ".join(Account.Lifecycle(s).label.lower() for s in sorted(allowed)) or "none"
        raise ValidationFailed(
            "The account cannot move there.",
            {
                "lifecycle_status": [
                    f"{account.name} is {account.get_lifecycle_status_display().lower()}: it "
                    f"can move to {names}."
                ]
            },
        )
    account.lifecycle_status = status
    account.save(update_fields=["lifecycle_status", "updated_at"])
    change = AccountLifecycleChange.objects.create(
        account=account,
        from_status=previous,
        to_status=status,
        actor=actor if getattr(actor, "pk", None) else None,
        reason=reason,
    )
    payload = {"account_id": account.pk, "previous_status": previous, "reason": reason}
    event_emit(
        name="account.lifecycle_changed",
        aggregate=account,
        actor=actor,
        payload={**payload, "status": status, "lifecycle_change_id": change.pk},
    )
    if status == Account.Lifecycle.CHURNED:
        event_emit(name="account.churned", aggregate=account, actor=actor, payload=payload)
    return account


def account_won(*, account: Account, deal_name: str) -> Account:
    """A deal of the account was won: a prospect (or a churned customer winning again)
    starts onboarding. Called in the close's transaction (the status is read afresh,
    under a lock)."""
    account = Account.objects.select_for_update().get(pk=account.pk)
    status = account.lifecycle_status
    if status == Account.Lifecycle.PROSPECT:
        reason = f"Its first won deal: “{deal_name}”."
    elif status == Account.Lifecycle.CHURNED:
        reason = f"Won again after churning: “{deal_name}”."
    else:
        return account
    return account_set_lifecycle(
        account=account, status=Account.Lifecycle.ONBOARDING, actor=None, reason=reason
    )


def account_mark_churned(*, account: Account, actor: Any, reason: str = "") -> Account:
    """Record that the customer left; running playbooks for the account are cancelled."""
    if account.lifecycle_status == Account.Lifecycle.CHURNED:
        raise Conflict(f"{account.name} is already marked as churned.")
    return account_set_lifecycle(
        account=account, status=Account.Lifecycle.CHURNED, actor=actor, reason=reason
    )


# Contacts -------------------------------------------------------------------------------


def _primary_problem(contact: Contact) -> str | None:
    if not contact.is_primary:
        return None
    holder = contact.account.contacts.filter(is_primary=True).exclude(pk=contact.pk).first()
    if holder is None:
        return None
    return f"{contact.account.name} already has a primary contact: {holder}."


def _contact_save(contact: Contact, *, message: str, fields: list[str] | None = None) -> None:
    """Check the contact (one primary per account, then the model's rules) and save it."""
    if problem := _primary_problem(contact):
        raise ValidationFailed(message, {"is_primary": [problem]})
    model_validate(contact, message=message, fields=fields)
    try:
        # A savepoint: a concurrent request can make another primary after our check,
        # and the database constraint then has the last word.
        with transaction.atomic():
            if fields is None:
                contact.save()
            else:
                contact.save(update_fields=[*fields, "updated_at"])
    except IntegrityError:
        raise ValidationFailed(
            message, {"is_primary": ["This account already has a primary contact."]}
        ) from None


def covers(actor: Any, account: Account) -> bool:
    """Whether ``actor`` works this account: its CSM, its owner, or the owner of an open
    deal there (or anyone with ``customers.act_on_any_account``)."""
    if actor is None or actor.has_perm("customers.act_on_any_account"):
        return True
    if actor.pk in (account.csm_id, account.owner_id):
        return True
    return (
        account.deals.filter(owner_id=actor.pk)
        .exclude(stage__in=("closed_won", "closed_lost"))
        .exists()
    )


def require_covers(actor: Any, account: Account, doing: str) -> None:
    if not covers(actor, account):
        raise NotPermitted(
            f"You do not cover {account.name} (its CSM, its owner or the owner of an open "
            f"deal there), so you may not {doing}."
        )


@transaction.atomic
def contact_create(*, actor: Any, account: Account, name: str, **details: Any) -> Contact:
    """Add a contact to ``account``; ``details`` are any of ``CONTACT_DETAILS``. An account
    has at most one primary contact. CSMs and reps add contacts only to accounts they
    cover."""
    require_known_fields(details, CONTACT_DETAILS)
    require_permission(actor, "customers.add_contact", "You may not add contacts.")
    require_covers(actor, account, "add contacts to it")
    if details.get("unsubscribed"):
        details["unsubscribed"] = True  # recorded below, like any other consent change
    contact = Contact(account=account, name=name, **details)
    _contact_save(contact, message="The contact was not added.")
    if contact.unsubscribed:
        _consent_record(contact, unsubscribed=True, how=ConsentChange.How.STAFF, actor=actor)
    return contact


def _consent_record(contact: Contact, *, unsubscribed: bool, how: str, actor: Any, **more) -> None:
    ConsentChange.objects.create(
        contact=contact,
        unsubscribed=unsubscribed,
        how=how,
        actor=actor if getattr(actor, "pk", None) else None,
        **more,
    )


@transaction.atomic
def contact_update(
    *, contact: Contact, actor: Any, consent_reason: str = "", **changes: Any
) -> Contact:
    """Change a contact's details (``CONTACT_DETAILS`` and ``account``); saves only what
    changed. An account has at most one primary contact; CSMs and reps change contacts
    only on accounts they cover.

    Consent: staff may mark a contact unsubscribed (on the contact's request). Clearing it
    takes the contact's own re-subscribe link, or ``customers.resubscribe_contact`` with
    a written ``consent_reason``. Either is recorded as a ``ConsentChange``."""
    require_known_fields(changes, (*CONTACT_DETAILS, "account"))
    require_permission(actor, "customers.change_contact", "You may not change contacts.")
    require_covers(actor, contact.account, "change its contacts")
    if "account" in changes and changes["account"] != contact.account:
        require_covers(actor, changes["account"], "move contacts to it")
    resubscribing = contact.unsubscribed and changes.get("unsubscribed") is False
    if resubscribing:
        if actor is not None and not actor.has_perm("customers.resubscribe_contact"):
            raise NotPermitted(
                f"{contact.name} unsubscribed: only their own re-subscribe link, or an admin "
                "with a written reason, can clear that."
            )
        if not consent_reason.strip():
            raise ValidationFailed(
                "The contact was not saved.",
                {"consent_reason": ["Say why the contact may be emailed again."]},
            )
    changed = model_changes_apply(contact, changes)
    if changed:
        _contact_save(contact, message="The contact was not saved.", fields=changed)
    if "unsubscribed" in changed:
        _consent_record(
            contact,
            unsubscribed=contact.unsubscribed,
            how=ConsentChange.How.STAFF,
            actor=actor,
            reason=consent_reason.strip(),
        )
    return contact


@transaction.atomic
def contact_unsubscribe(
    *, contact: Contact, how: str, email_id: int | None = None, actor: Any = None
) -> bool:
    """Stop customer email to ``contact`` and record when and how. Returns False if they
    had already unsubscribed (nothing is recorded twice)."""
    updated = Contact.objects.filter(pk=contact.pk, unsubscribed=False).update(unsubscribed=True)
    contact.unsubscribed = True
    if updated:
        _consent_record(contact, unsubscribed=True, how=how, actor=actor, email_id=email_id)
    return bool(updated)


@transaction.atomic
def contact_resubscribe_by_link(*, contact: Contact) -> bool:
    """The contact's own re-subscribe link (on the unsubscribe page): customer email
    resumes, and that is recorded. Returns False if they were subscribed already."""
    updated = Contact.objects.filter(pk=contact.pk, unsubscribed=True).update(unsubscribed=False)
    contact.unsubscribed = False
    if updated:
        _consent_record(
            contact, unsubscribed=False, how=ConsentChange.How.RESUBSCRIBE_LINK, actor=None
        )
    return bool(updated)
