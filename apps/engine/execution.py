"""Executing step runs in batches: one transaction claims due runs, locks their
enrollments, executes them through their kinds, writes what they did and commits once.

PostgreSQL is the queue. ``steps_execute_due`` claims due rows with ``FOR UPDATE SKIP
LOCKED``; concurrent workers take disjoint rows. The enrollment rows are locked in the
same transaction, which is the fence against a concurrent cancel or pause: a cancel
either commits before the batch locks the enrollment (and the batch sees it cancelled)
or waits until the batch has committed (and withdraws what the batch created). A crash
before the commit leaves no effect and releases the locks; the next drain takes the
rows again. (SQLite has no row locks; the embedded default runs one worker.)
"""

import datetime as dt
import logging
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import DatabaseError, transaction
from django.db.models import Q

from apps.core import clock, outbox, step_kinds
from apps.core.events import EventSpec, events_emit_many
from apps.core.rows import rows_update
from apps.core.step_kinds import StepDefinition
from apps.engine.models import Enrollment, StepRun
from apps.engine.timing import Calendar, company_holidays_read_once, step_timing
from apps.playbooks.conditions import condition_data, conditions_hold

logger = logging.getLogger(__name__)

STEP_RETRY = outbox.Backoff(first=dt.timedelta(seconds=30), cap=dt.timedelta(hours=6))
ENROLLMENT_RELATED = (
    "version",
    "playbook",
    "deal__primary_contact",
    "deal__owner__profile",
    "account__csm__profile",
    "account__owner__profile",
)


# Scheduling ---------------------------------------------------------------------------


def step_runs_build(
    *,
    enrollment: Enrollment,
    steps: list[StepDefinition],
    base: dt.datetime,
    occurrence: int = 1,
    first: bool = False,
    calendar: Calendar | None = None,
) -> list[StepRun]:
    """Unsaved step runs for ``steps`` timed from ``base`` (for a repetition, the first
    occurrence's planned moment). ``first`` marks an enrollment's opening steps: when
    due at once they go before older scheduled work, so a burst of closes shows first
    tasks first."""
    if not steps:
        return []
    now = clock.now()
    calendar = calendar or Calendar.for_account(enrollment.account)
    runs = []
    for step in steps:
        timing = step_timing(step=step, base=base, calendar=calendar, occurrence=occurrence)
        runs.append(
            StepRun(
                enrollment=enrollment,
                step_key=step.key,
                occurrence=occurrence,
                kind=step.kind,
                due_at=timing.due,
                planned_at=timing.planned,
                moved_because=timing.moved_because,
                priority=StepRun.Priority.FIRST
                if first and timing.due <= now
                else StepRun.Priority.SCHEDULED,
                generation=enrollment.generation,
                created_at=now,
            )
        )
    return runs


def step_runs_save(runs: list[StepRun]) -> None:
    """Insert ``runs`` in one statement; a run that already exists (same enrollment, step
    and occurrence) is left as it is. Wakes a worker after commit if any is due."""
    if not runs:
        return
    StepRun.objects.bulk_create(runs, ignore_conflicts=True)
    now = clock.now()
    if any(run.due_at <= now for run in runs):
        outbox.wake_after_commit(drainer="steps")


# Execution ------------------------------------------------------------------------------


@dataclass
class FinishedRun:
    run: StepRun
    state: str
    result: dict[str, Any]


@dataclass
class BatchResult:
    executed: int = 0
    failed: int = 0
    fenced: int = 0

    @property
    def claimed(self) -> int:
        return self.executed + self.failed + self.fenced


def steps_execute_due(*, limit: int | None = None) -> BatchResult:
    """Execute one batch of due step runs. A database error splits the batch and
    retries the halves, so one bad row cannot hold the others back."""
    limit = limit or settings.ENGINE_BATCH_SIZE
    try:
        return _execute_batch(ids=None, limit=limit)
    except DatabaseError:
        logger.warning("a batch of %s failed; retrying it in halves", limit, exc_info=True)
        ids = step_runs_due_ids(limit=limit)
        return _execute_split(ids)


def step_runs_execute(*, ids: list[int]) -> BatchResult:
    """Execute these step runs now, whatever their due time (a retry from admin, a
    simulation, an old message naming them). Finished runs are left alone."""
    try:
        return _execute_batch(ids=ids, limit=len(ids))
    except DatabaseError:
        if len(ids) == 1:
            raise
        return _execute_split(ids)


def _execute_split(ids: list[int]) -> BatchResult:
    if len(ids) <= 1:
        if ids:
            try:
                return _execute_batch(ids=ids, limit=1)
            except DatabaseError as exc:
                logger.exception("step run %s failed with a database error", ids[0])
                step_run_record_failure(step_run_id=ids[0], error=f"{type(exc).__name__}: {exc}")
                return BatchResult(failed=1)
        return BatchResult()
    half = len(ids) // 2
    left, right = _execute_split(ids[:half]), _execute_split(ids[half:])
    return BatchResult(
        executed=left.executed + right.executed,
        failed=left.failed + right.failed,
        fenced=left.fenced + right.fenced,
    )


def step_run_execute(*, step_run_id: int) -> str:
    """Execute one step run (a batch of one). Returns its state afterwards, or why it
    did not run: already finished (a duplicate message), or fenced by a paused or
    cancelled enrollment."""
    outcome = step_runs_execute(ids=[step_run_id])
    state = StepRun.objects.filter(pk=step_run_id).values_list("state", flat=True).first()
    if state is None:
        return "missing"
    if outcome.fenced:
        return f"fenced: {state}"
    if not outcome.claimed:
        return f"skipped: already {state}"
    return state


def step_runs_due_ids(*, limit: int) -> list[int]:
    """The ids a batch would claim now, first steps of new enrollments first (read only:
    the dispatcher's index scan, measured by the benchmark)."""
    return list(_due(clock.now()).values_list("id", flat=True)[:limit])


def _due(now: dt.datetime):
    # Reads the partial index on (priority, due_at) of pending and failed rows.
    return (
        StepRun.objects.filter(state__in=StepRun.DUE_STATES, due_at__lte=now)
        .exclude(enrollment__state=Enrollment.State.PAUSED)
        .order_by("priority", "due_at", "id")
    )


def _claim(*, ids: list[int] | None, limit: int, now: dt.datetime) -> list[StepRun]:
    if ids is not None:
        unfinished = [*StepRun.DUE_STATES, StepRun.State.RUNNING]
        query = StepRun.objects.filter(pk__in=ids, state__in=unfinished).order_by("id")
        return list(query.select_for_update(skip_locked=True, of=("self",)))
    return list(_due(now).select_for_update(skip_locked=True, of=("self",))[:limit])


# Leases are checked at most once a minute (by the clock, so a frozen test clock moves it).
LEASE_CHECK_EVERY = dt.timedelta(minutes=1)
_leases_checked_at: dt.datetime | None = None


def step_runs_release_expired(*, now: dt.datetime) -> int:
    """Make runs due again that a worker leased (``running``, as one step per message
    did) and died holding: one UPDATE. Returns how many."""
    return StepRun.objects.filter(state=StepRun.State.RUNNING, lease_until__lt=now).update(
        state=StepRun.State.PENDING, lease_until=None
    )


def _release_expired_now_and_then() -> None:
    global _leases_checked_at
    now = clock.now()
    if _leases_checked_at is not None and abs(now - _leases_checked_at) < LEASE_CHECK_EVERY:
        return
    _leases_checked_at = now
    if released := step_runs_release_expired(now=now):
        logger.warning("%s step runs whose worker died holding them are due again", released)


def step_runs_claim_due(*, limit: int) -> list[int]:
    """Lock up to ``limit`` due runs for the caller's transaction (what a batch does
    first; the benchmark times it with a million pending rows)."""
    return [run.pk for run in _claim(ids=None, limit=limit, now=clock.now())]


def _lock_enrollments(ids: set[int]) -> dict[int, Enrollment]:
    # SKIP LOCKED: an enrollment held by a cancel, a pause or another batch is left for
    # the next batch instead of making this one wait. of=("self",): lock only the
    # enrollment rows (PostgreSQL refuses FOR UPDATE on the nullable side of a join).
    return {
        enrollment.pk: enrollment
        for enrollment in Enrollment.objects.select_for_update(skip_locked=True, of=("self",))
        .select_related(*ENROLLMENT_RELATED)
        .filter(pk__in=ids)
    }


def _execute_batch(*, ids: list[int] | None, limit: int) -> BatchResult:
    # One transaction; its commit does not wait for the disk (see commit_without_flush:
    # a batch lost with the database server is executed again, and nothing outside the
    # database acts on its rows before a later commit has written it).
    with outbox.commit_without_flush(when_asked=True) as unflushed, company_holidays_read_once():
        return _execute_claimed(ids=ids, limit=limit, unflushed=unflushed)


def _execute_claimed(
    *, ids: list[int] | None, limit: int, unflushed: Callable[[], None] = lambda: None
) -> BatchResult:
    now = clock.now()
    runs = _claim(ids=ids, limit=limit, now=now)
    if not runs:
        return BatchResult()
    unflushed()
    enrollments = _lock_enrollments({run.enrollment_id for run in runs})
    outcome = BatchResult()
    runnable: list[tuple[StepRun, Enrollment, StepDefinition]] = []
    fenced: list[StepRun] = []
    finished: list[FinishedRun] = []
    broken: list[tuple[StepRun, str]] = []
    for run in runs:
        enrollment = enrollments.get(run.enrollment_id)
        if enrollment is None:
            continue  # busy elsewhere; the next batch takes it
        if enrollment.state != Enrollment.State.ACTIVE:
            # The fence: cancelled or paused after this run became due.
            cancelled = enrollment.state == Enrollment.State.CANCELLED
            run.state = StepRun.State.CANCELLED if cancelled else StepRun.State.PENDING
            run.lease_until = None
            fenced.append(run)
            continue
        run.started_at = now
        try:
            step = enrollment.version.step(run.step_key)
            skipped = _skip_reason(run=run, step=step, enrollment=enrollment)
        except Exception as exc:  # a step gone from its version, a kind not registered…
            broken.append((run, f"{type(exc).__name__}: {exc}"))
            continue
        if skipped:
            finished.append(FinishedRun(run, StepRun.State.SKIPPED, {"skipped": skipped}))
        else:
            runnable.append((run, enrollment, step))
    if fenced:
        rows_update(fenced, ["state", "lease_until"])
        outcome.fenced = len(fenced)
    done, failures = _execute_kinds(runnable, now=now)
    failures += broken
    finished += done
    step_runs_finish(finished=finished, enrollments=enrollments, now=now)
    for run, error in failures:
        _record_failure(run, error, now=now)
    outcome.executed = len(finished)
    outcome.failed = len(failures)
    return outcome


def _skip_reason(*, run: StepRun, step: StepDefinition, enrollment: Enrollment) -> str:
    kind = step_kinds.get(run.kind)
    data = condition_data(deal=enrollment.deal, account=enrollment.account, enrollment=enrollment)
    if not conditions_hold(step.conditions, data, match=step.conditions_match):
        return "conditions not met"
    if kind.needs_deal and enrollment.deal is None:
        return f"“{step.name}” needs a deal, and {enrollment.account.name} has no won deal"
    return ""


def _execute_kinds(
    runnable: list[tuple[StepRun, Enrollment, StepDefinition]], *, now: dt.datetime
) -> tuple[list[FinishedRun], list[tuple[StepRun, str]]]:
    """Run each kind's executor over its runs: ``execute_many`` for a whole group where
    the kind has one, else one savepoint per step. One failing step fails alone."""
    by_kind: dict[str, list[step_kinds.StepExecution]] = defaultdict(list)
    for run, enrollment, step in runnable:
        by_kind[run.kind].append(
            step_kinds.StepExecution(
                step_run=run,
                enrollment=enrollment,
                deal=enrollment.deal,
                account=enrollment.account,
                step=step,
                now=now,
            )
        )
    done: list[FinishedRun] = []
    failures: list[tuple[StepRun, str]] = []
    for name, executions in by_kind.items():
        kind = step_kinds.get(name)
        results = _execute_group(kind, executions) if kind.execute_many else None
        if results is None:
            results = [_execute_one(kind, execution) for execution in executions]
        for execution, result in zip(executions, results, strict=True):
            if isinstance(result, Exception):
                failures.append((execution.step_run, f"{type(result).__name__}: {result}"))
            else:
                done.append(FinishedRun(execution.step_run, StepRun.State.DONE, result or {}))
    return done, failures


def _execute_group(kind: step_kinds.StepKind, executions: list) -> list | None:
    try:
        with transaction.atomic():
            return kind.execute_many(executions)
    except Exception:
        # Find the culprit: run the group again one step at a time.
        logger.warning("%s: batch of %s failed; one by one", kind.name, len(executions))
        return None


def _execute_one(kind: step_kinds.StepKind, execution: step_kinds.StepExecution) -> Any:
    try:
        with transaction.atomic():
            return kind.execute(execution)
    except Exception as exc:
        logger.exception("step run %s (%s) failed", execution.step_run.pk, kind.name)
        return exc


def step_runs_finish(
    *, finished: list[FinishedRun], enrollments: dict[int, Enrollment], now: dt.datetime
) -> None:
    """Record finished runs (their enrollments locked by the caller) with one statement
    per table: results into the runs and the enrollment context, ``step.completed`` /
    ``step.skipped`` events, successors and next occurrences; an enrollment with
    nothing left to do completes."""
    if not finished:
        return
    runs, events, successors = [], [], []
    touched: dict[int, Enrollment] = {}
    firsts = _first_occurrences(finished)
    for item in finished:
        run, enrollment = item.run, enrollments[item.run.enrollment_id]
        run.state, run.result = item.state, item.result
        run.lease_until, run.finished_at, run.last_error = None, now, ""
        run.attempts += 1
        runs.append(run)
        steps_context = enrollment.context.setdefault("steps", {})
        steps_context[run.step_key] = {
            **steps_context.get(run.step_key, {}),
            "state": item.state,
            "occurrence": run.occurrence,
            **run.result,
        }
        touched[enrollment.pk] = enrollment
        events.append(
            EventSpec(
                name="step.completed" if item.state == StepRun.State.DONE else "step.skipped",
                aggregate_type="steprun",
                aggregate_id=run.pk,
                payload={
                    "enrollment_id": enrollment.pk,
                    "deal_id": enrollment.deal_id,
                    "step_key": run.step_key,
                    "occurrence": run.occurrence,
                },
            )
        )
        successors += _next_runs(run, enrollment, state=item.state, now=now, firsts=firsts)
    rows_update(
        runs,
        ["state", "result", "lease_until", "started_at", "finished_at", "last_error", "attempts"],
    )
    for enrollment in touched.values():
        enrollment.updated_at = now
    rows_update(list(touched.values()), ["context", "updated_at"])
    events_emit_many(events=events)
    step_runs_save(successors)
    _complete_finished_enrollments(touched, now=now)
    for run in runs:
        logger.info("step run %s (%s#%s) %s", run.pk, run.step_key, run.occurrence, run.state)


def _first_occurrences(finished: list[FinishedRun]) -> dict[tuple[int, str], StepRun]:
    """The first occurrence of each repeating step in the batch: repetitions are timed
    from its planned moment."""
    wanted = {(f.run.enrollment_id, f.run.step_key) for f in finished if f.run.occurrence > 1}
    if not wanted:
        return {}
    query = Q()
    for enrollment_id, step_key in wanted:
        query |= Q(enrollment_id=enrollment_id, step_key=step_key)
    return {
        (run.enrollment_id, run.step_key): run
        for run in StepRun.objects.filter(query, occurrence=1).only(
            "enrollment_id", "step_key", "planned_at", "due_at"
        )
    }


def _next_runs(
    run: StepRun,
    enrollment: Enrollment,
    *,
    state: str,
    now: dt.datetime,
    firsts: dict[tuple[int, str], StepRun],
) -> list[StepRun]:
    version, runs = enrollment.version, []
    step = version.step(run.step_key)
    # A skipped step is a branch not taken: what waits for it does not start.
    if state == StepRun.State.DONE:
        after = [s for s in version.definitions if not s.starts_at_enrollment]
        successors = [s for s in after if s.after_step == run.step_key]
        runs += step_runs_build(enrollment=enrollment, steps=successors, base=now)
    every, most = step.repeat_every_days, step.repeat_max
    if every and (most is None or run.occurrence < most):
        first = run if run.occurrence == 1 else firsts[(run.enrollment_id, run.step_key)]
        runs += step_runs_build(
            enrollment=enrollment,
            steps=[step],
            base=first.planned_at or first.due_at,
            occurrence=run.occurrence + 1,
        )
    return runs


def _complete_finished_enrollments(touched: dict[int, Enrollment], *, now: dt.datetime) -> None:
    busy = set(
        StepRun.objects.filter(enrollment_id__in=list(touched))
        .exclude(state__in=StepRun.FINISHED_STATES)
        .values_list("enrollment_id", flat=True)
    )
    # The batch holds these enrollments' row locks: the states it read are current.
    complete = [
        pk for pk in touched if pk not in busy and touched[pk].state == Enrollment.State.ACTIVE
    ]
    if complete:
        Enrollment.objects.filter(pk__in=complete, state=Enrollment.State.ACTIVE).update(
            state=Enrollment.State.COMPLETED, finished_at=now, updated_at=now
        )
        for pk in complete:
            touched[pk].state, touched[pk].finished_at = Enrollment.State.COMPLETED, now
        enrollment_events_emit(
            name="enrollment.completed", enrollments=[touched[pk] for pk in complete]
        )


def enrollment_events_emit(*, name: str, enrollments: list[Enrollment]) -> None:
    """``enrollment.started`` or ``enrollment.completed`` for each enrollment, with one
    INSERT: what outbound webhooks and other listeners hear of an enrollment."""
    events_emit_many(
        events=[
            EventSpec(
                name=name,
                aggregate_type="enrollment",
                aggregate_id=enrollment.pk,
                payload={
                    "enrollment_id": enrollment.pk,
                    "playbook_id": enrollment.playbook_id,
                    "version_id": enrollment.version_id,
                    "account_id": enrollment.account_id,
                    "deal_id": enrollment.deal_id,
                },
            )
            for enrollment in enrollments
        ]
    )


# Failures -------------------------------------------------------------------------------


def _record_failure(run: StepRun, error: str, *, now: dt.datetime) -> str:
    run.attempts += 1
    run.last_error = error[:4000]
    run.lease_until = None
    if run.attempts >= settings.ENGINE_MAX_ATTEMPTS:
        run.state, run.finished_at = StepRun.State.DEAD, now
    else:
        run.state, run.due_at = StepRun.State.FAILED, now + STEP_RETRY.after(run.attempts)
    run.save(
        update_fields=["state", "attempts", "last_error", "lease_until", "due_at", "finished_at"]
    )
    logger.warning("step run %s %s after attempt %s: %s", run.pk, run.state, run.attempts, error)
    return run.state


@transaction.atomic
def step_run_record_failure(*, step_run_id: int, error: str) -> str:
    """Schedule a retry with exponential backoff, or mark the run dead after the last."""
    run = StepRun.objects.select_for_update().filter(pk=step_run_id).first()
    if run is None or run.state in StepRun.FINISHED_STATES:
        return "failure ignored: finished"
    return _record_failure(run, error, now=clock.now())


# Draining -------------------------------------------------------------------------------


def steps_drain(*, seconds: float | None = None) -> int:
    """Execute due steps batch after batch until none is due (or ``seconds`` have
    passed). The batch size adapts: halved when a batch holds its locks too long,
    doubled while batches are quick and full."""
    deadline = time.monotonic() + (seconds or settings.ENGINE_DRAIN_SECONDS)
    size, low, high = settings.ENGINE_BATCH_SIZE, 10, settings.ENGINE_BATCH_MAX
    target = settings.ENGINE_BATCH_TARGET_MS / 1000
    total = 0
    _release_expired_now_and_then()
    while time.monotonic() < deadline:
        started = time.monotonic()
        result = steps_execute_due(limit=size)
        total += result.executed + result.failed
        if result.claimed < size:
            break  # the queue held less than a batch: nothing more was due
        took = time.monotonic() - started
        if took > target:
            size = max(low, size // 2)
        elif result.claimed >= size and took < target / 2:
            size = min(high, size * 2)
    return total
