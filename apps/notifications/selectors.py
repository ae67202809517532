"""Notification reads: a person's channel preferences and their notifications."""

from typing import Any

from django.db.models import QuerySet

from apps.core.models import Profile
from apps.notifications.models import Notification

IN_APP = "in_app"
EMAIL = "email"
CHANNELS = frozenset({IN_APP, EMAIL})

Reason = Notification.Reason

# What someone gets before they say otherwise: work handed to them and breaches come by
# email too; reminders about their own due dates stay in the app.
DEFAULT_CHANNELS: dict[str, frozenset[str]] = {
    Reason.TASK_ASSIGNED: frozenset({IN_APP, EMAIL}),
    Reason.SLA_BREACHED: frozenset({IN_APP, EMAIL}),
    Reason.HANDOFF_REMINDER: frozenset({IN_APP, EMAIL}),
    Reason.PLAYBOOK_REMINDER: frozenset({IN_APP, EMAIL}),
    Reason.REFERRAL_RECEIVED: frozenset({IN_APP, EMAIL}),
    Reason.WEBHOOK_DISABLED: frozenset({IN_APP, EMAIL}),
    Reason.TASK_DUE_SOON: frozenset({IN_APP}),
    Reason.TASK_OVERDUE: frozenset({IN_APP}),
}


def profile_or_defaults(user: Any) -> Profile:
    """The user's profile, or an unsaved one with the defaults: a read never writes.

    Reads ``user.profile``, so callers that loop over many users ``select_related`` it.
    """
    try:
        return user.profile
    except Profile.DoesNotExist:
        return Profile(user=user)


def notification_channels(user: Any, reason: str) -> set[str]:
    """The channels ``user`` wants for ``reason``: their profile's choice if they made a
    valid one (an empty list switches the reason off), else the default."""
    chosen = (profile_or_defaults(user).channels or {}).get(reason)
    if isinstance(chosen, list | tuple) and all(isinstance(c, str) for c in chosen):
        return set(chosen) & CHANNELS
    return set(DEFAULT_CHANNELS.get(reason, {IN_APP}))


def notification_list_for(*, user: Any, unread: bool | None = None) -> QuerySet[Notification]:
    """The user's own notifications, newest first."""
    notifications = Notification.objects.filter(recipient=user)
    if unread is True:
        notifications = notifications.filter(read_at__isnull=True)
    elif unread is False:
        notifications = notifications.filter(read_at__isnull=False)
    return notifications.order_by("-created_at", "-id")


def unread_count(user: Any) -> int:
    """How many of the user's notifications are unread (the top bar's count)."""
    return Notification.objects.filter(recipient=user, read_at__isnull=True).count()
