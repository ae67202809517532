"""The domain event outbox: emit in the writer's transaction, process after commit.

Apps subscribe handlers in their ``AppConfig.ready()``; core imports none of them.
Handlers run inside the transaction that marks the event processed, so their effects and
the "processed" mark commit together or not at all, and they must be idempotent (unique
keys) because a handler that failed half-way runs again on the next attempt.
"""

import datetime as dt
import logging
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

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
# The batch form of a handler: the same effects for a list of events, with a few
# statements for all of them.
_batch_forms: dict[EventHandler, Callable[[list[DomainEvent]], object]] = {}

EVENT_RETRY = outbox.Backoff(first=dt.timedelta(seconds=10), cap=dt.timedelta(hours=1))


def subscribe(
    event_name: str,
    handler: EventHandler,
    *,
    many: Callable[[list[DomainEvent]], object] | None = None,
) -> None:
    """Run ``handler`` for every ``event_name`` event; ``many`` is its batch form, used
    when a batch holds several such events in a row."""
    if handler not in _handlers[event_name]:
        _handlers[event_name].append(handler)
    if many is not None:
        _batch_forms[handler] = many


def subscribe_matching(
    accepts: Callable[[str], bool],
    handler: EventHandler,
    *,
    many: Callable[[list[DomainEvent]], object] | None = None,
) -> None:
    """Subscribe ``handler`` to every event ``accepts`` says yes to; ``many`` is its
    batch form, used when a batch holds several such events in a row."""
    if (accepts, handler) not in _matching:
        _matching.append((accepts, handler))
    if many is not None:
        _batch_forms[handler] = many


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
    """Write an event in the current transaction; a worker processes it after commit.

    An event nobody subscribes to is kept as a record only: it is written as processed
    and wakes nobody.
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
        outbox.wake_after_commit(drainer="events")
    return event


@dataclass(frozen=True)
class EventSpec:
    """An event to write with ``events_emit_many``."""

    name: str
    aggregate_type: str
    aggregate_id: int
    payload: dict = field(default_factory=dict)
    actor_id: int | None = None


def events_emit_many(*, events: list[EventSpec]) -> None:
    """``event_emit`` for many events: one INSERT, one wake-up if any is subscribed."""
    if not events:
        return
    now = clock.now()
    rows, subscribed = [], False
    for spec in events:
        handled = bool(handlers_for(spec.name))
        subscribed = subscribed or handled
        rows.append(
            DomainEvent(
                name=spec.name,
                aggregate_type=spec.aggregate_type,
                aggregate_id=spec.aggregate_id,
                payload=spec.payload,
                actor_id=spec.actor_id,
                occurred_at=now,
                processed_at=None if handled else now,
            )
        )
    DomainEvent.objects.bulk_create(rows)
    if subscribed:
        outbox.wake_after_commit(drainer="events")


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


def _process_claimed(event: DomainEvent) -> bool:
    """Run one claimed event's handlers in a savepoint; a failure rolls back only them
    and schedules a retry."""
    try:
        with transaction.atomic():
            for handler in handlers_for(event.name):
                handler(event)
    except Exception as exc:
        logger.exception("event %s (%s) failed; it will be retried", event.pk, event.name)
        event.attempts += 1
        event.next_attempt_at = clock.now() + EVENT_RETRY.after(event.attempts)
        event.last_error = f"{type(exc).__name__}: {exc}"[:2000]
        event.save(update_fields=["attempts", "next_attempt_at", "last_error"])
        return False
    event.processed_at = clock.now()
    event.attempts += 1
    event.last_error = ""
    event.save(update_fields=["processed_at", "attempts", "last_error"])
    return True


EVENT_BATCH = 100


def events_process_due(*, limit: int = EVENT_BATCH) -> int:
    """Process up to ``limit`` unprocessed events in one transaction, oldest first.
    Events of the same name whose handlers all have a batch form run together in one
    savepoint (``_runs_of_the_same_name`` says which may go together); the others (and
    a batch that fails) run one savepoint per event. Returns how many it took, failed
    ones included."""
    now = clock.now()
    # The batch's commit does not wait for the disk: see ``outbox.commit_without_flush``.
    with outbox.commit_without_flush(when_asked=True) as unflushed:
        # SKIP LOCKED: events another worker holds are being processed there.
        claimed = list(
            DomainEvent.objects.select_for_update(skip_locked=True)
            .filter(processed_at__isnull=True)
            .filter(models.Q(next_attempt_at__isnull=True) | models.Q(next_attempt_at__lte=now))
            .order_by("id")[:limit]
        )
        if claimed:
            unflushed()
        for group in _runs_of_the_same_name(claimed):
            if len(group) > 1 and _process_together(group):
                continue
            for event in group:
                if _process_claimed(event):
                    logger.info("event processed: %s id=%s", event.name, event.pk)
    return len(claimed)


def _concerns(event: DomainEvent) -> set[tuple[str, object]]:
    """What an event is about: its aggregate, and the account and deal its payload names."""
    payload = event.payload or {}
    about = {(event.aggregate_type, event.aggregate_id)}
    for kind in ("account", "deal"):
        if payload.get(f"{kind}_id"):
            about.add((kind, payload[f"{kind}_id"]))
    return about


def _runs_of_the_same_name(events: list[DomainEvent]) -> list[list[DomainEvent]]:
    """The events in batches of one name, in an order that keeps each account's and
    deal's own events in the order they happened. An event joins the last batch of its
    name unless an event after that batch concerns the same account, deal or aggregate:
    a reopen between two closes of one deal keeps its place, while closes and the
    lifecycle moves they raise, interleaved across accounts, make two batches, not one
    per event."""
    groups: list[list[DomainEvent]] = []
    concerns: list[set[tuple[str, object]]] = []  # what each group's events are about
    for event in events:
        about = _concerns(event)
        target = None
        for index in range(len(groups) - 1, -1, -1):
            if groups[index][0].name == event.name:
                target = index
                break
            if concerns[index] & about:
                break  # an event about the same thing came in between: keep the order
        if target is None:
            groups.append([event])
            concerns.append(set(about))
        else:
            groups[target].append(event)
            concerns[target] |= about
    return groups


def _process_together(group: list[DomainEvent]) -> bool:
    handlers = handlers_for(group[0].name)
    if not all(handler in _batch_forms for handler in handlers):
        return False
    try:
        with transaction.atomic():
            for handler in handlers:
                _batch_forms[handler](group)
    except Exception:
        logger.warning("a batch of %s %s events failed; one by one", len(group), group[0].name)
        return False
    processed = clock.now()
    DomainEvent.objects.filter(pk__in=[event.pk for event in group]).update(
        processed_at=processed, attempts=models.F("attempts") + 1, last_error=""
    )
    logger.info("events processed: %s × %s", group[0].name, len(group))
    return True


def events_drain(*, seconds: float = 30.0) -> int:
    """Process events batch after batch until none is due."""
    total, deadline = 0, time.monotonic() + seconds
    while time.monotonic() < deadline:
        taken = events_process_due(limit=EVENT_BATCH)
        total += taken
        if taken < EVENT_BATCH:
            break  # fewer than a batch were due: none is left
    return total


def events_sweep(*, limit: int = 200) -> int:
    """Process events whose wake-up was lost or whose handlers failed earlier."""
    return events_process_due(limit=limit)
