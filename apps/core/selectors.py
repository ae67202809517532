from typing import Any

from apps.core.models import Profile


def profile_for(user: Any) -> Profile:
    """The user's work profile, created with defaults on first use."""
    profile, _ = Profile.objects.get_or_create(user=user)
    return profile
