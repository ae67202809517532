"""Health writes: recompute the scores of many accounts at once, raise
``account.health_changed`` when a band changes, and take the daily snapshot."""

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.db.models import Sum

from apps.core import clock
from apps.core.errors import ValidationFailed
from apps.core.events import EventSpec, events_emit_many
from apps.core.models import DomainEvent
from apps.core.outbox import send_after_commit
from apps.core.writes import (
    model_changes_apply,
    model_validate,
    require_known_fields,
    require_permission,
)
from apps.customers.models import Account
from apps.health.models import (
    AccountHealth,
    FactorKey,
    HealthFactor,
    HealthSettings,
    HealthSnapshot,
)
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
    # Lock the stored rows first (in id order, so two recomputes cannot deadlock): a
    # concurrent recompute of the same account waits here, then reads the band the first
    # one wrote, and a band change raises its event once.
    before = {
        row["account_id"]: row
        for row in AccountHealth.objects.select_for_update()
        .filter(account_id__in=ids)
        .order_by("account_id")
        .values("account_id", "band", "score")
    }
    now = clock.now()
    computed = health_compute(account_ids=ids, now=now)
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


# Configuration ---------------------------------------------------------------------------

FACTOR_SETTINGS = ("label", "weight", "full_at", "zero_at", "passive_points", "queue_slug")
THRESHOLDS = ("green_at", "yellow_at")


def _factor_problems(factor: HealthFactor) -> dict[str, list[str]]:
    problems: dict[str, list[str]] = {}
    if factor.weight is not None and factor.weight < 0:
        problems["weight"] = ["A weight cannot be negative; 0 leaves the factor out."]
    elif factor.weight is not None:
        others = (
            HealthFactor.objects.exclude(pk=factor.pk).aggregate(total=Sum("weight"))["total"] or 0
        )
        if others + factor.weight <= 0:
            problems["weight"] = [
                "Every factor would weigh 0 and no account could have a score: give at "
                "least one factor a weight above 0."
            ]
    if factor.key != FactorKey.NPS:
        for name in ("full_at", "zero_at"):
            if getattr(factor, name) is None:
                problems.setdefault(name, []).append(
                    f"{factor.label} needs the raw value worth "
                    f"{'100' if name == 'full_at' else '0'} points."
                )
        if (
            factor.full_at is not None
            and factor.zero_at is not None
            and factor.full_at == factor.zero_at
        ):
            problems.setdefault("zero_at", []).append(
                "Full marks and zero points need different values (the points run on a "
                "line between them)."
            )
    if factor.key == FactorKey.ESCALATIONS and not factor.queue_slug:
        problems["queue_slug"] = ["Name the queue whose open tasks are escalations."]
    return problems


@transaction.atomic
def health_factor_update(*, factor: HealthFactor, actor: Any, **changes: Any) -> HealthFactor:
    """Change a factor's label, weight or parameters (``FACTOR_SETTINGS``). Weights are 0
    or more and at least one factor keeps a weight; every problem is named by field and
    nothing is saved. Every account is recomputed after commit."""
    require_known_fields(changes, FACTOR_SETTINGS)
    require_permission(actor, "health.change_healthfactor", "You may not configure health.")
    factor = HealthFactor.objects.select_for_update().get(pk=factor.pk)
    changed = model_changes_apply(factor, changes)
    if not changed:
        return factor
    if problems := _factor_problems(factor):
        raise ValidationFailed("The factor was not saved.", problems)
    model_validate(factor, message="The factor was not saved.", fields=changed)
    factor.save(update_fields=changed)
    _recompute_everyone_after_commit()
    return factor


@transaction.atomic
def health_thresholds_update(*, actor: Any, **changes: Any) -> HealthSettings:
    """Change the band thresholds (``THRESHOLDS``): 0–100, green above yellow. Every
    account is recomputed after commit (bands may change, and raise their events)."""
    require_known_fields(changes, THRESHOLDS)
    require_permission(
        actor, "health.change_healthsettings", "You may not change the health thresholds."
    )
    thresholds = HealthSettings.objects.select_for_update().order_by("pk").first()
    thresholds = thresholds or HealthSettings()
    changed = model_changes_apply(thresholds, changes)
    if not changed and thresholds.pk:
        return thresholds
    model_validate(thresholds, message="The thresholds were not saved.")
    if thresholds.yellow_at >= thresholds.green_at:
        raise ValidationFailed(
            "The thresholds were not saved.",
            {
                "yellow_at": [
                    f"Yellow must start below green ({thresholds.green_at}): accounts "
                    f"from {thresholds.yellow_at} would be green and yellow at once."
                ]
            },
        )
    thresholds.save()
    _recompute_everyone_after_commit()
    return thresholds


def _recompute_everyone_after_commit() -> None:
    from apps.health.tasks import recompute_all

    send_after_commit(recompute_all, what="health recompute after a configuration change")
