"""Account writes that other parts of the product react to."""

from typing import Any

from django.db import transaction

from apps.core.errors import Conflict, ValidationFailed
from apps.core.events import event_emit
from apps.customers.models import Account


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
