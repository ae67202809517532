"""Health writes: recompute the scores of many accounts at once, raise
``account.health_changed`` when a band changes, and take the daily snapshot."""

import datetime as dt
from collections.abc import Iterable

from django.db import transaction

from apps.core import clock
from apps.core.events import EventSpec, events_emit_many
from apps.core.models import DomainEvent
from apps.customers.models import Account
from apps.health.models import AccountHealth, HealthSnapshot
from apps.health.scoring import Computed, health_compute

# The nightly job goes through the accounts in chunks of this many: each chunk costs the
# same fixed number of queries, and no IN list grows with the customer base.
RECOMPUTE_CHUNK = 500


@transaction.atomic
def health_recompute(*, account_ids: Iterable[int], snapshot: bool = False) -> dict[int, Computed]:
    """Compute the health of ``account_ids`` and store it (one ``AccountHealth`` each).

    A fixed number of queries whatever the number of accounts: the inputs are read with
    one aggregate each (``scoring.inputs_read``), the rows are written with one upsert,
    the events with one INSERT. An account whose band changed (or that gets its first
    band) raises ``account.health_changed`` with the old and new band and score; a
    recompute that changes nothing raises nothing. With ``snapshot``, today's
    ``HealthSnapshot`` is written too (again the same day: the same row, updated)."""
    ids = sorted(set(account_ids))
    if not ids:
        return {}
    now = clock.now()
    computed = health_compute(account_ids=ids, now=now)
    before = {
        row["account_id"]: row
        for row in AccountHealth.objects.filter(account_id__in=ids).values(
            "account_id", "band", "score"
        )
    }
    AccountHealth.objects.bulk_create(
        [
            AccountHealth(
                account_id=c.account_id,
                score=c.score,
                band=c.band,
                factors=c.factors_json(),
                computed_at=now,
            )
            for c in computed.values()
        ],
        update_conflicts=True,
        unique_fields=["account"],
        update_fields=["score", "band", "factors", "computed_at"],
    )
    events = []
    for c in computed.values():
        previous = before.get(c.account_id)
        if previous is not None and previous["band"] == c.band:
            continue
        events.append(
            EventSpec(
                name="account.health_changed",
                aggregate_type="account",
                aggregate_id=c.account_id,
                payload={
                    "account_id": c.account_id,
                    "band": c.band,
                    "score": c.score,
                    "previous_band": previous["band"] if previous else None,
                    "previous_score": previous["score"] if previous else None,
                },
            )
        )
    events_emit_many(events=events)
    if snapshot:
        _snapshots_write(computed.values(), date=now.date())
    return computed


def _snapshots_write(computed: Iterable[Computed], *, date: dt.date) -> None:
    HealthSnapshot.objects.bulk_create(
        [
            HealthSnapshot(account_id=c.account_id, date=date, score=c.score, band=c.band)
            for c in computed
        ],
        update_conflicts=True,
        unique_fields=["account", "date"],
        update_fields=["score", "band"],
    )


def health_recompute_all(*, chunk: int = RECOMPUTE_CHUNK) -> int:
    """The nightly job: recompute every account and write today's snapshot, one chunk of
    accounts per transaction. Idempotent: run twice the same day, the same rows (and no
    second event, the bands being unchanged). Returns how many accounts it computed."""
    done, after = 0, 0
    while True:
        ids = list(
            Account.objects.filter(pk__gt=after).order_by("pk").values_list("pk", flat=True)[:chunk]
        )
        if not ids:
            return done
        health_recompute(account_ids=ids, snapshot=True)
        done += len(ids)
        after = ids[-1]


# Recomputing when the inputs change ------------------------------------------------------
# Each handler finds the accounts its events concern and recomputes them together: the
# batch forms run once for a whole run of events of one name (``core.events``).


def _task_accounts(events: list[DomainEvent]) -> set[int]:
    from apps.queues.models import Task

    task_ids = {e.payload.get("task_id") or e.aggregate_id for e in events}
    return set(
        Task.objects.filter(pk__in=task_ids, account_id__isnull=False).values_list(
            "account_id", flat=True
        )
    )


def _payload_accounts(events: list[DomainEvent]) -> set[int]:
    accounts = set()
    for event in events:
        account_id = (event.payload or {}).get("account_id")
        if account_id:
            accounts.add(int(account_id))
        elif event.aggregate_type == "account":
            accounts.add(event.aggregate_id)
    return accounts


def health_recompute_for_task_events(events: list[DomainEvent]) -> None:
    """Tasks created (an escalation, a task already past due), completed, skipped or
    cancelled: the accounts of those tasks."""
    health_recompute(account_ids=_task_accounts(events))


def health_recompute_for_account_events(events: list[DomainEvent]) -> None:
    """Survey answers, usage crossing a threshold, lifecycle moves: the accounts their
    payload names."""
    health_recompute(account_ids=_payload_accounts(events))


def _one(handler):
    def handle(event: DomainEvent) -> None:
        handler([event])

    handle.__name__ = handle.__qualname__ = f"{handler.__name__}_one"
    return handle


# (event names, batch handler): what ``registrations`` subscribes. Left out on purpose:
# assignments, claims, snoozes and SLA breaches change no input; a task becoming overdue
# and a step becoming due are the passing of time, with no event (the nightly job and
# the next event of the account catch them); the engine's ``step.completed`` would cost
# every step run an event to process, and the tasks the steps make are heard anyway.
RECOMPUTE_ON = (
    (
        ("task.created", "task.completed", "task.skipped", "task.cancelled"),
        health_recompute_for_task_events,
    ),
    (
        ("survey.answered", "account.usage_threshold_crossed", "account.lifecycle_changed"),
        health_recompute_for_account_events,
    ),
)
SINGLE_FORMS = {many: _one(many) for _, many in RECOMPUTE_ON}
