"""Which event types some enabled subscription wants, as the outbox asks when an event
is written and when it is processed.

An event nobody listens to is written as already processed and wakes no worker
(``apps.core.events``): with no subscription for ``enrollment.started``, a bulk run of
100 000 enrollments costs the drain nothing. Each process keeps the answer for
``WEBHOOK_LISTENERS_REFRESH_SECONDS``; a subscription written in this process refreshes
it at once, one written elsewhere within that many seconds.
"""

import time

from django.conf import settings

from apps.webhooks import catalogue

_known: tuple[float, frozenset[str]] | None = None


def _wanted_types() -> frozenset[str]:
    global _known
    from apps.webhooks.models import WebhookSubscription

    now = time.monotonic()
    if _known is None or now - _known[0] > settings.WEBHOOK_LISTENERS_REFRESH_SECONDS:
        types: set[str] = set()
        for chosen in WebhookSubscription.objects.filter(is_active=True).values_list(
            "event_types", flat=True
        ):
            types.update(chosen)
        _known = (now, frozenset(types))
    return _known[1]


def is_wanted(event_name: str) -> bool:
    """Whether an enabled subscription asked for ``event_name``."""
    return event_name in catalogue.NAMES and event_name in _wanted_types()


def forget() -> None:
    """Read the subscriptions again on the next question (after a subscription write)."""
    global _known
    _known = None


def assume(types: frozenset[str]) -> None:
    """Take ``types`` as the answer for a while (tests start from no subscription)."""
    global _known
    _known = (time.monotonic(), types)
