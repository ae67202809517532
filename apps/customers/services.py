"""Account writes that other parts of the product react to."""

from typing import Any

from django.db import transaction

from apps.core.errors import Conflict
from apps.core.events import event_emit
from apps.customers.models import Account


@transaction.atomic
def account_mark_churned(*, account: Account, actor: Any, reason: str = "") -> Account:
    """Record that the customer left; running playbooks for the account are cancelled."""
    account = Account.objects.select_for_update().get(pk=account.pk)
    if account.lifecycle_status == Account.Lifecycle.CHURNED:
        raise Conflict(f"{account.name} is already marked as churned.")
    previous = account.lifecycle_status
    account.lifecycle_status = Account.Lifecycle.CHURNED
    account.save(update_fields=["lifecycle_status", "updated_at"])
    event_emit(
        name="account.churned",
        aggregate=account,
        actor=actor,
        payload={"account_id": account.pk, "previous_status": previous, "reason": reason},
    )
    return account
