"""What the apps' create and update services share: the actor's permission, the fields a
caller may change, applying the changes to a row, and the model's own rules turned into
a domain error keyed by field.

The services keep their business rules; these steps are the same for every model.
"""

from collections.abc import Iterable
from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Model

from apps.core.errors import NotPermitted, ValidationFailed


def require_permission(actor: Any, permission: str, message: str) -> None:
    """Refuse an ``actor`` without ``permission``; no actor is the system itself (a CRM
    sync, a data migration), which may."""
    if actor is not None and not actor.has_perm(permission):
        raise NotPermitted(message)


def require_known_fields(changes: dict[str, Any], allowed: Iterable[str]) -> None:
    """A caller passing a field the service does not change is a programming error."""
    if unknown := set(changes) - set(allowed):
        raise ValueError(f"Not fields this service changes: {', '.join(sorted(unknown))}")


def model_changes_apply(instance: Model, changes: dict[str, Any]) -> list[str]:
    """Set on ``instance`` each value in ``changes`` that differs from its own, and return
    the names of the fields that changed (to save only those). Related rows compare by
    primary key, so nothing is loaded to find out."""
    changed = []
    for name, value in changes.items():
        field = instance._meta.get_field(name)
        if field.many_to_many or not field.concrete:
            raise ValueError(f"{name} is not a column of {type(instance).__name__}.")
        new = value.pk if field.is_relation and isinstance(value, Model) else value
        if getattr(instance, field.attname) != new:
            setattr(instance, name, value)
            changed.append(name)
    return changed


def model_validate(instance: Model, *, message: str, fields: Iterable[str] | None = None) -> None:
    """Check the model's own rules (blank, choices, validators, uniqueness, constraints)
    and raise ``ValidationFailed`` carrying every problem keyed by field.

    ``fields`` limits the check to those fields, so an update is judged on what it
    changes and not refused over an old value nobody touched."""
    exclude = None
    if fields is not None:
        keep = set(fields)
        exclude = {f.name for f in instance._meta.concrete_fields if f.name not in keep}
    try:
        instance.full_clean(exclude=exclude)
    except DjangoValidationError as exc:
        problems = {
            "non_field_errors" if field == NON_FIELD_ERRORS else field: list(messages)
            for field, messages in exc.message_dict.items()
        }
        raise ValidationFailed(message, problems) from None
