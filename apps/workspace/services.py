"""Account workspace writes: staff notes on an account."""

from typing import Any

from django.db import transaction

from apps.core.errors import ValidationFailed
from apps.core.writes import require_permission
from apps.customers.models import Account
from apps.workspace.models import AccountNote

NOTE_MAX_LENGTH = 5000


@transaction.atomic
def account_note_add(*, account: Account, actor: Any, body: str) -> AccountNote:
    """Add a note to ``account``. Anyone who may add notes may add one to any account they
    can see; the note is kept as written."""
    require_permission(actor, "workspace.add_accountnote", "You may not add notes to accounts.")
    body = body.strip()
    if not body:
        raise ValidationFailed("The note was not added.", {"body": ["Write something first."]})
    if len(body) > NOTE_MAX_LENGTH:
        raise ValidationFailed(
            "The note was not added.",
            {"body": [f"A note holds at most {NOTE_MAX_LENGTH} characters ({len(body)} given)."]},
        )
    return AccountNote.objects.create(account=account, author=actor, body=body)
