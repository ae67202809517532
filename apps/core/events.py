"""The domain event outbox: emit in the writer's transaction, process after commit.

Apps subscribe handlers in their ``AppConfig.ready()``; core imports none of them.
Handlers run inside the transaction that marks the event processed, so their effects and
the "processed" mark commit together or not at all, and they must be idempotent (unique
keys) because a handler that failed half-way runs again on the next attempt.
"""

import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Callable

from django.conf import settings
from django.db import models, transaction

from apps.core import clock, outbox
from apps.core.models import DomainEvent

logger = logging.getLogger(__name__)

EventHandler = Callable[[DomainEvent], None]
_handlers: dict[str, list[EventHandler]] = defaultdict(list)
# Handlers for every event a predicate accepts, asked at dispatch time: the engine
# handles whatever triggers, waits and cancellations are registered, including those
# registered by apps that become ready after it.
_matching: list[tuple[Callable[[str], bool], EventHandler]] = []

EVENT_RETRY = outbox.Backoff(first=dt.timedelta(seconds=10), cap=dt.timedelta(hours=1))


def subscribe(event_name: str, handler: EventHandler) -> None:
    if handler not in _handlers[event_name]:
        _handlers[event_name].append(handler)


def subscribe_matching(accepts: Callable[[str], bool], handler: EventHandler) -> None:
    if (accepts, handler) not in _matching:
        _matching.append((accepts, handler))


def handlers_for(event_name: str) -> list[EventHandler]:
    handlers = list(_handlers.get(event_name, ()))
    handlers += [h for accepts, h in _matching if accepts(event_name) and h not in handlers]
    return handlers


def event_emit(
    *,
    name: str,
    aggregate: models.Model,
    payload: dict | None = None,
    actor: object | None = None,
) -> DomainEvent:
    """Write an event in the current transaction; its message is sent after commit.

    An event nobody subscribes to is kept as a record only: it is written as processed
    and sends no message, which halves the engine's messages per step.
    """
    now = clock.now()
    subscribed = bool(handlers_for(name))
    event = DomainEvent.objects.create(
        name=name,
        aggregate_type=aggregate._meta.model_name,
        aggregate_id=aggregate.pk,
        payload=payload or {},
        actor=actor if getattr(actor, "pk", None) else None,
        occurred_at=now,
        processed_at=None if subscribed else now,
    )
    if subscribed:
        from apps.core.tasks import process_event

        outbox.send_after_commit(process_event, event.pk, what=f"event {event.pk} ({name})")
    return event


def event_process(*, event_id: int) -> bool:
    """Run the subscribed handlers once. Returns True if this call processed the event."""
    try:
        with transaction.atomic():
            # SKIP LOCKED: if another worker holds this event, it is processing it; leave it.
            event = (
                DomainEvent.objects.select_for_update(skip_locked=True)
                .filter(pk=event_id, processed_at__isnull=True)
                .first()
            )
            if event is None:
                return False
            for handler in handlers_for(event.name):
                handler(event)
            event.processed_at = clock.now()
            event.attempts += 1
            event.last_error = ""
            event.save(update_fields=["processed_at", "attempts", "last_error"])
        logger.info("event processed: %s id=%s", event.name, event.pk)
        return True
    except Exception as exc:
        logger.exception("event %s failed; it will be retried by the sweep", event_id)
        attempts = (
            DomainEvent.objects.filter(pk=event_id).values_list("attempts", flat=True).first() or 0
        ) + 1
        DomainEvent.objects.filter(pk=event_id, processed_at__isnull=True).update(
            attempts=attempts,
            next_attempt_at=clock.now() + EVENT_RETRY.after(attempts),
            last_error=f"{type(exc).__name__}: {exc}"[:2000],
        )
        return False


def events_sweep(*, limit: int = 200) -> int:
    """Process events whose message was lost or whose handlers failed earlier."""
    current = clock.now()
    cutoff = current - dt.timedelta(seconds=settings.OUTBOX_SWEEP_GRACE_SECONDS)
    due = (
        DomainEvent.objects.filter(processed_at__isnull=True, occurred_at__lte=cutoff)
        .filter(models.Q(next_attempt_at__isnull=True) | models.Q(next_attempt_at__lte=current))
        .order_by("occurred_at", "id")
        .values_list("id", flat=True)[:limit]
    )
    return sum(event_process(event_id=event_id) for event_id in list(due))
