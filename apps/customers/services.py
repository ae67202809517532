"""Account and contact writes. The API and admin create and change them here; a change
of lifecycle is one that other parts of the product react to."""

from typing import Any

from django.db import IntegrityError, transaction

from apps.core.errors import Conflict, ValidationFailed
from apps.core.events import event_emit
from apps.core.writes import (
    model_changes_apply,
    model_validate,
    require_known_fields,
    require_permission,
)
from apps.customers.models import Account, ConsentChange, Contact

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


@transaction.atomic
def account_set_lifecycle(
    *, account: Account, status: str, actor: Any, reason: str = ""
) -> Account:
    """Move an account through its lifecycle. Becoming churned emits ``account.churned``,
    which cancels the account's running playbooks and their open work."""
    if status not in Account.Lifecycle.values:
        raise ValidationFailed(
            "Unknown lifecycle status.",
            {"lifecycle_status": [f"Use one of: {', '.join(Account.Lifecycle.values)}."]},
        )
    account = Account.objects.select_for_update().get(pk=account.pk)
    previous = account.lifecycle_status
    if previous == status:
        return account
    account.lifecycle_status = status
    account.save(update_fields=["lifecycle_status", "updated_at"])
    if status == Account.Lifecycle.CHURNED:
        event_emit(
            name="account.churned",
            aggregate=account,
            actor=actor,
            payload={"account_id": account.pk, "previous_status": previous, "reason": reason},
        )
    return account


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


@transaction.atomic
def contact_create(*, actor: Any, account: Account, name: str, **details: Any) -> Contact:
    """Add a contact to ``account``; ``details`` are any of ``CONTACT_DETAILS``. An account
    has at most one primary contact."""
    require_known_fields(details, CONTACT_DETAILS)
    require_permission(actor, "customers.add_contact", "You may not add contacts.")
    contact = Contact(account=account, name=name, **details)
    _contact_save(contact, message="The contact was not added.")
    return contact


@transaction.atomic
def contact_update(*, contact: Contact, actor: Any, **changes: Any) -> Contact:
    """Change a contact's details (``CONTACT_DETAILS`` and ``account``); saves only what
    changed. An account has at most one primary contact."""
    require_known_fields(changes, (*CONTACT_DETAILS, "account"))
    require_permission(actor, "customers.change_contact", "You may not change contacts.")
    changed = model_changes_apply(contact, changes)
    if changed:
        _contact_save(contact, message="The contact was not saved.", fields=changed)
    if "unsubscribed" in changed:
        ConsentChange.objects.create(
            contact=contact,
            unsubscribed=contact.unsubscribed,
            how=ConsentChange.How.STAFF,
            actor=actor if getattr(actor, "pk", None) else None,
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
        ConsentChange.objects.create(
            contact=contact,
            unsubscribed=True,
            how=how,
            email_id=email_id,
            actor=actor if getattr(actor, "pk", None) else None,
        )
    return bool(updated)
