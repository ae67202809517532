"""Writes to the pieces core owns that people change themselves."""

from typing import Any

from django.db import transaction

from apps.core.errors import ValidationFailed
from apps.core.models import Profile

PROFILE_FIELDS = (
    "timezone",
    "work_start",
    "work_end",
    "out_of_office_from",
    "out_of_office_until",
    "backup",
    "capacity",
    "digest_time",
    "channels",
)


@transaction.atomic
def profile_update(*, profile: Profile, **changes: Any) -> Profile:
    """Change someone's working preferences; every problem is reported by field."""
    unknown = set(changes) - set(PROFILE_FIELDS)
    if unknown:
        raise ValueError(f"Not profile fields: {', '.join(sorted(unknown))}")
    for field, value in changes.items():
        setattr(profile, field, value)
    problems: dict[str, list[str]] = {}
    if profile.work_start >= profile.work_end:
        problems["work_end"] = ["The working day must end after it starts."]
    start, end = profile.out_of_office_from, profile.out_of_office_until
    if end and not start:
        problems["out_of_office_from"] = ["Give the first day away too."]
    elif start and end and end < start:
        problems["out_of_office_until"] = ["The last day away cannot be before the first."]
    if profile.backup_id and profile.backup_id == profile.user_id:
        problems["backup"] = ["Choose someone else as your backup."]
    if problems:
        raise ValidationFailed("Your preferences were not saved.", problems)
    profile.full_clean(exclude=["user"])
    profile.save()
    return profile
