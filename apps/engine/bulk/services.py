"""Writes of bulk enrollment: start a run, resume it, and run it chunk by chunk."""

import datetime as dt
import logging
from dataclasses import dataclass, field
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded
from django.db import transaction
from django.db.models import F, Value
from django.db.models.functions import Coalesce

from apps.core import clock, outbox
from apps.core.errors import Conflict, DomainError
from apps.core.models import DomainEvent
from apps.core.step_kinds import StepDefinition
from apps.engine.bulk.filters import AccountFilter, account_filter_from_data
from apps.engine.bulk.selectors import (
    accounts_matching,
    accounts_with_policy,
    bulk_enrollment_preview,
)
from apps.engine.execution import enrollment_events_emit
from apps.engine.models import BulkEnrollment, Enrollment, StepRun
from apps.engine.timing import UTC, Calendar, StepTiming, step_timing
from apps.playbooks.models import Playbook, PlaybookVersion

logger = logging.getLogger(__name__)

BULK_ENROLLED_EVENT = "playbook.bulk_enrolled"
CHUNK_SIZE = 2000


@transaction.atomic
def bulk_enrollment_start(
    *, playbook: Any, filters: Any, spread_business_days: Any = 0, actor: Any
) -> BulkEnrollment:
    """Record a bulk run (queued) and its trigger event, and send ``engine.bulk_enroll``
    after commit. Bad input raises ``ValidationFailed`` and writes nothing."""
    preview = bulk_enrollment_preview(
        playbook=playbook, filters=filters, spread_business_days=spread_business_days
    )
    request, now = preview.request, clock.now()
    actor = actor if getattr(actor, "pk", None) else None
    run = BulkEnrollment.objects.create(
        playbook=request.playbook,
        version_id=request.playbook.current_version_id,
        filters=request.account_filter.as_data(),
        spread_business_days=request.spread_business_days,
        requested_by=actor,
        total=preview.total,
        created_at=now,
    )
    # A record, not a message: nobody handles it, so it is written as processed.
    run.trigger_event = DomainEvent.objects.create(
        name=BULK_ENROLLED_EVENT,
        aggregate_type=BulkEnrollment._meta.model_name,
        aggregate_id=run.pk,
        payload={
            "playbook_id": run.playbook_id,
            "version_id": run.version_id,
            "filters": run.filters,
            "spread_business_days": run.spread_business_days,
        },
        actor=actor,
        occurred_at=now,
        processed_at=now,
    )
    run.save(update_fields=["trigger_event"])
    _send(run)
    logger.info("bulk enrollment %s queued: %s accounts match", run.pk, preview.total)
    return run


def _send(run: BulkEnrollment) -> None:
    from apps.engine.tasks import bulk_enroll

    outbox.send_after_commit(bulk_enroll, run.pk, what=f"bulk enrollment {run.pk}")


@transaction.atomic
def bulk_enrollment_resume(*, bulk_enrollment: BulkEnrollment, actor: Any = None) -> BulkEnrollment:
    """Send a run's message again (it was lost), or continue a failed run from its
    cursor. Harmless while it runs: chunks are taken in turn under a lock."""
    run = BulkEnrollment.objects.select_for_update().get(pk=bulk_enrollment.pk)
    if run.state == BulkEnrollment.State.DONE:
        raise Conflict("This run is done; start a new one to enroll the accounts that match now.")
    if run.state == BulkEnrollment.State.FAILED:
        run.state, run.error, run.finished_at = BulkEnrollment.State.QUEUED, "", None
        run.save(update_fields=["state", "error", "finished_at"])
    _send(run)
    logger.info("bulk enrollment %s resumed by %s", run.pk, actor)
    return run


def bulk_enrollment_run(*, bulk_enrollment_id: int, chunk_size: int = CHUNK_SIZE) -> str:
    """Enroll a run's accounts, one chunk per transaction, and record how it ended.
    Returns the run's state (a duplicate message finds it done and does nothing)."""
    claimed = outbox.claim_row(
        BulkEnrollment.objects.filter(state=BulkEnrollment.State.QUEUED),
        pk=bulk_enrollment_id,
        lease={
            "state": BulkEnrollment.State.RUNNING,
            "started_at": Coalesce(F("started_at"), Value(clock.now())),
        },
    )
    state = (
        BulkEnrollment.objects.filter(pk=bulk_enrollment_id).values_list("state", flat=True).first()
    )
    if state != BulkEnrollment.State.RUNNING:
        return state or "missing"
    if not claimed:
        # A redelivered message (its worker died) or a duplicate: it continues from the
        # cursor, taking chunks in turn with any other worker on the same run.
        logger.info("bulk enrollment %s: continuing a running run", bulk_enrollment_id)
    run = BulkEnrollment.objects.select_related("version").get(pk=bulk_enrollment_id)
    starts = _FirstSteps(
        version=run.version, spread_business_days=run.spread_business_days, now=clock.now()
    )
    try:
        account_filter = account_filter_from_data(run.filters)
        while _enroll_chunk(run.pk, account_filter=account_filter, starts=starts, size=chunk_size):
            pass
    except Exception as exc:
        logger.exception("bulk enrollment %s failed", bulk_enrollment_id)
        _record_failure(bulk_enrollment_id, exc)
        return BulkEnrollment.State.FAILED
    return BulkEnrollment.State.DONE


@transaction.atomic
def _enroll_chunk(
    bulk_enrollment_id: int, *, account_filter: AccountFilter, starts: "_FirstSteps", size: int
) -> bool:
    """Enroll the next ``size`` matching accounts after the cursor. Returns True while
    more may follow."""
    playbook_id = (
        BulkEnrollment.objects.filter(pk=bulk_enrollment_id)
        .values_list("playbook_id", flat=True)
        .get()
    )
    # Lock order: the playbook, then the run. Two runs into one playbook take chunks in
    # turn, so each sees what the other committed and skips those accounts.
    playbook = Playbook.objects.select_for_update().get(pk=playbook_id)
    run = BulkEnrollment.objects.select_for_update().get(pk=bulk_enrollment_id)
    if run.state != BulkEnrollment.State.RUNNING:
        return False
    if playbook.status != Playbook.Status.ACTIVE:
        raise Conflict(f"“{playbook.name}” was archived during the run.")
    now = clock.now()
    rows = list(
        accounts_with_policy(accounts_matching(account_filter), playbook=playbook, now=now)
        .filter(pk__gt=run.last_account_id)
        .order_by("pk")
        .values_list(
            "pk", "timezone", "country", "latest_deal_id", "already_enrolled", "in_cooldown"
        )[:size]
    )
    enrollments, timings = [], []
    for account_id, timezone, country, deal_id, already_enrolled, in_cooldown in rows:
        if already_enrolled:
            run.skipped_already_enrolled += 1
            continue
        if in_cooldown:
            run.skipped_cooldown += 1
            continue
        day = starts.day_for(run.enrolled + len(enrollments))
        timings.append(starts.timings(timezone=timezone, country=country, day=day))
        start = starts.start(timezone=timezone, country=country, day=day)
        enrollments.append(
            Enrollment(
                playbook=playbook,
                version_id=run.version_id,
                account_id=account_id,
                deal_id=deal_id,
                trigger_event_id=run.trigger_event_id,
                created_at=now,
                timed_from=start if start != starts.now else None,
            )
        )
    Enrollment.objects.bulk_create(enrollments)
    enrollment_events_emit(name="enrollment.started", enrollments=enrollments)
    StepRun.objects.bulk_create(
        [
            StepRun(
                enrollment=enrollment,
                step_key=step.key,
                occurrence=1,
                kind=step.kind,
                due_at=timing.due,
                planned_at=timing.planned,
                moved_because=timing.moved_because,
                state=StepRun.State.PENDING,
                created_at=now,
            )
            for enrollment, first_steps in zip(enrollments, timings, strict=True)
            for step, timing in first_steps
        ],
        batch_size=size,
    )
    run.enrolled += len(enrollments)
    fields = ["enrolled", "skipped_already_enrolled", "skipped_cooldown", "last_account_id"]
    if rows:
        run.last_account_id = rows[-1][0]
    more = len(rows) == size
    if not more:
        # What matched when the run started may have changed; the counts are the truth.
        run.state, run.finished_at, run.total = BulkEnrollment.State.DONE, now, run.processed
        fields += ["state", "finished_at", "total"]
    run.save(update_fields=fields)
    logger.info(
        "bulk enrollment %s: %s enrolled, %s skipped so far", run.pk, run.enrolled, run.skipped
    )
    return more


def _record_failure(bulk_enrollment_id: int, exc: Exception) -> None:
    if isinstance(exc, SoftTimeLimitExceeded):
        error = "Stopped by the time limit; resume the run to enroll the remaining accounts."
    elif isinstance(exc, DomainError):
        # e.g. a product in the filter was deleted after the run was requested
        details = [f"{field}: {m}" for field, messages in exc.errors.items() for m in messages]
        error = " ".join([exc.message, *details])
    else:
        error = f"{type(exc).__name__}: {exc}"
    BulkEnrollment.objects.filter(pk=bulk_enrollment_id).exclude(
        state=BulkEnrollment.State.DONE
    ).update(state=BulkEnrollment.State.FAILED, error=error[:4000], finished_at=clock.now())


@dataclass
class _FirstSteps:
    """The timing of a version's first steps for each account, computed once per time
    zone, country and start day: accounts that share them share their timings too."""

    version: PlaybookVersion
    spread_business_days: int
    now: dt.datetime
    _calendars: dict[tuple[str, str], Calendar] = field(default_factory=dict)
    _timings: dict[tuple[str, str, int], list[tuple[StepDefinition, StepTiming]]] = field(
        default_factory=dict
    )
    _starts: dict[tuple[str, str, int], dt.datetime] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.steps = [s for s in self.version.definitions if s.starts_at_enrollment]

    def day_for(self, index: int) -> int:
        """The start day (0 = today) of the ``index``-th account enrolled by the run:
        round robin, so each day gets as many starts as the next."""
        return index % self.spread_business_days if self.spread_business_days else 0

    def timings(
        self, *, timezone: str, country: str, day: int
    ) -> list[tuple[StepDefinition, StepTiming]]:
        key = (timezone, country, day)
        if key not in self._timings:
            calendar = self._calendar(timezone, country)
            base = self.start(timezone=timezone, country=country, day=day)
            self._timings[key] = [
                (step, step_timing(step=step, base=base, calendar=calendar)) for step in self.steps
            ]
        return self._timings[key]

    def start(self, *, timezone: str, country: str, day: int) -> dt.datetime:
        """When an account's enrollment starts: what its first steps are timed from."""
        key = (timezone, country, day)
        if key not in self._starts:
            self._starts[key] = self._start(self._calendar(timezone, country), day)
        return self._starts[key]

    def _calendar(self, timezone: str, country: str) -> Calendar:
        calendar = self._calendars.get((timezone, country))
        if calendar is None:
            calendar = Calendar.for_place(timezone=timezone, country=country)
            self._calendars[(timezone, country)] = calendar
        return calendar

    def _start(self, calendar: Calendar, day: int) -> dt.datetime:
        """Now, or with a spread the ``day``-th business day from today in the account's
        calendar (today counts if it is one), at the current local time of day."""
        if not self.spread_business_days:
            return self.now
        local = self.now.astimezone(calendar.tz)
        start = calendar.add_business_days(calendar.next_business_day(local.date()), day)
        if start == local.date():
            return self.now
        return calendar.localize(start, local.time()).astimezone(UTC)
