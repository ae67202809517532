"""The engine: enroll deals in playbooks, schedule step runs as rows, claim and execute
them exactly once in effect, cancel what a reopened or lost deal no longer needs."""

import datetime as dt
import logging
import threading
from typing import Any

from celery import current_task
from django.conf import settings
from django.db import transaction
from django.db.models import F, OuterRef, Subquery

from apps.core import clock, step_kinds
from apps.core.errors import Conflict
from apps.core.events import event_emit
from apps.core.models import DomainEvent
from apps.deals.models import Deal
from apps.engine.models import Enrollment, StepRun
from apps.engine.timing import Calendar, step_due_at
from apps.playbooks.conditions import condition_data, conditions_hold
from apps.playbooks.filters import filters_match
from apps.playbooks.selectors import playbooks_for_trigger

logger = logging.getLogger(__name__)

SEND_CHUNK = 10


def _lease_until(now: dt.datetime) -> dt.datetime:
    return now + dt.timedelta(seconds=settings.ENGINE_LEASE_SECONDS)


def _retry_delay(attempts: int) -> dt.timedelta:
    return dt.timedelta(seconds=min(6 * 3600, 30 * 2 ** max(0, attempts - 1)))


_inline = threading.local()


def step_runs_send(step_run_ids: list[int], *, inline: bool = True) -> None:
    """Hand claimed, due step runs to a worker.

    Inside a worker (after the commit that claimed them) the same worker runs them at once:
    a new deal's first task does not wait behind every other message in the queue. From
    web processes, and from the dispatcher (whose batch is for all the workers), they are
    sent as messages. A send that fails is only logged: the rows
    are leased, and the dispatcher reclaims them when the lease expires.
    """
    # current_task is a proxy: truthy only inside a running task.
    if inline and current_task and current_task.request.id is not None:
        _run_inline(step_run_ids)
        return
    from apps.engine.tasks import run_steps

    for start in range(0, len(step_run_ids), SEND_CHUNK):
        chunk = step_run_ids[start : start + SEND_CHUNK]
        try:
            run_steps.delay(chunk)
        except Exception:
            logger.warning(
                "could not send step runs %s; their lease will expire", chunk, exc_info=True
            )


def _run_inline(step_run_ids: list[int]) -> None:
    # A loop, not recursion: a step that completes may make its successors due at once,
    # and they join this list instead of nesting another call.
    pending = getattr(_inline, "pending", None)
    if pending is not None:
        pending.extend(step_run_ids)
        return
    _inline.pending = list(step_run_ids)
    try:
        while _inline.pending:
            step_run_execute(step_run_id=_inline.pending.pop(0))
    finally:
        _inline.pending = None


# Enrollment --------------------------------------------------------------------------


def enrollments_start_for_event(event: DomainEvent) -> list[Enrollment]:
    """Enroll the event's deal in every active playbook whose trigger and filters match.

    Idempotent: the (playbook, deal, trigger event) unique key means a second run of the
    same event finds the enrollment and schedules nothing new.
    """
    deal = Deal.objects.select_related("account").get(pk=event.aggregate_id)
    started = []
    for playbook in playbooks_for_trigger(trigger=event.name):
        version = playbook.current_version
        if not filters_match(version.filters, deal=deal):
            continue
        if reason := _enrollment_policy_refusal(playbook, deal, now=clock.now()):
            logger.info("deal %s not enrolled in %s: %s", deal.pk, playbook, reason)
            continue
        enrollment, created = Enrollment.objects.get_or_create(
            playbook=playbook,
            deal=deal,
            trigger_event=event,
            defaults={"version": version, "account": deal.account},
        )
        if created:
            logger.info("enrollment %s: deal %s in %s", enrollment.pk, deal.pk, version)
            steps = [s for s in version.steps if s.get("start", "enrollment") == "enrollment"]
            step_runs_schedule(enrollment=enrollment, steps=steps, base=clock.now())
            started.append(enrollment)
    return started


def _enrollment_policy_refusal(playbook, deal: Deal, *, now: dt.datetime) -> str | None:
    earlier = Enrollment.objects.filter(playbook=playbook)
    if (
        playbook.enrollment_policy == playbook.Policy.ONCE_PER_DEAL
        and earlier.filter(deal=deal).exists()
    ):
        return "already enrolled once (policy: once per deal)"
    days = playbook.account_cooldown_days
    if (
        days
        and earlier.filter(
            account_id=deal.account_id, created_at__gte=now - dt.timedelta(days=days)
        ).exists()
    ):
        return f"the account was enrolled within the last {days} days"
    return None


def step_runs_schedule(
    *, enrollment: Enrollment, steps: list[dict[str, Any]], base: dt.datetime, occurrence: int = 1
) -> list[StepRun]:
    """Create the step runs for ``steps`` timed from ``base``. Runs already due are
    claimed here and sent to the workers right after commit, not at the next tick."""
    if not steps:
        return []
    now = clock.now()
    calendar = Calendar.for_account(enrollment.account)
    runs, due_now = [], []
    for step in steps:
        due_at = step_due_at(step=step, base=base, calendar=calendar)
        is_due = due_at <= now and enrollment.state == Enrollment.State.ACTIVE
        run, created = StepRun.objects.get_or_create(
            enrollment=enrollment,
            step_key=step["key"],
            occurrence=occurrence,
            defaults={
                "kind": step["kind"],
                "due_at": due_at,
                "state": StepRun.State.RUNNING if is_due else StepRun.State.PENDING,
                "lease_until": _lease_until(now) if is_due else None,
                "attempts": 1 if is_due else 0,
                "generation": enrollment.generation,
            },
        )
        runs.append(run)
        if created and is_due:
            due_now.append(run.pk)
    if due_now:
        transaction.on_commit(lambda: step_runs_send(due_now))
    return runs


@transaction.atomic
def enrollment_cancel(*, enrollment: Enrollment, reason: str) -> int:
    """Cancel an enrollment, its unfinished step runs and the open effects of its
    finished ones. Returns the number of effects withdrawn."""
    enrollment = Enrollment.objects.select_for_update().get(pk=enrollment.pk)
    # A completed enrollment is cancelled too: the tasks its steps created may still be
    # open, and they no longer make sense.
    if enrollment.state == Enrollment.State.CANCELLED:
        return 0
    now = clock.now()
    enrollment.state = Enrollment.State.CANCELLED
    enrollment.generation += 1
    enrollment.cancelled_reason = reason
    enrollment.finished_at = now
    enrollment.save(
        update_fields=["state", "generation", "cancelled_reason", "finished_at", "updated_at"]
    )
    enrollment.step_runs.filter(
        state__in=[StepRun.State.PENDING, StepRun.State.FAILED, StepRun.State.RUNNING]
    ).update(state=StepRun.State.CANCELLED, lease_until=None, finished_at=now, last_error=reason)
    withdrawn = 0
    for run in enrollment.step_runs.filter(state=StepRun.State.DONE):
        kind = step_kinds.get(run.kind)
        if kind.withdraw is not None:
            withdrawn += kind.withdraw(run, reason)
    logger.info(
        "enrollment %s cancelled (%s); %s effects withdrawn", enrollment.pk, reason, withdrawn
    )
    return withdrawn


@transaction.atomic
def enrollment_pause(*, enrollment: Enrollment, actor: Any = None) -> Enrollment:
    """Stop an enrollment's steps from running until it is resumed."""
    enrollment = Enrollment.objects.select_for_update().get(pk=enrollment.pk)
    if enrollment.state != Enrollment.State.ACTIVE:
        raise Conflict(f"Only an active enrollment can be paused; this one is {enrollment.state}.")
    enrollment.state = Enrollment.State.PAUSED
    enrollment.paused_at = clock.now()
    enrollment.generation += 1  # fences runs already claimed
    enrollment.save(update_fields=["state", "paused_at", "generation", "updated_at"])
    logger.info("enrollment %s paused by %s", enrollment.pk, actor)
    return enrollment


@transaction.atomic
def enrollment_resume(*, enrollment: Enrollment, actor: Any = None) -> Enrollment:
    """Resume a paused enrollment. Waiting steps move later by the time spent paused, so
    what fell due during the pause runs spaced out as planned, not in one burst."""
    enrollment = Enrollment.objects.select_for_update().get(pk=enrollment.pk)
    if enrollment.state != Enrollment.State.PAUSED:
        raise Conflict(f"Only a paused enrollment can be resumed; this one is {enrollment.state}.")
    now = clock.now()
    paused_for = now - (enrollment.paused_at or now)
    enrollment.step_runs.filter(state__in=StepRun.DUE_STATES).update(
        due_at=F("due_at") + paused_for
    )
    enrollment.state = Enrollment.State.ACTIVE
    enrollment.paused_at = None
    enrollment.generation += 1
    enrollment.save(update_fields=["state", "paused_at", "generation", "updated_at"])
    logger.info("enrollment %s resumed by %s after %s", enrollment.pk, actor, paused_for)
    return enrollment


def enrollments_cancel_for_event(event: DomainEvent) -> int:
    """Cancel the running enrollments of the event's deal (or account) whose playbook
    version cancels on ``event``."""
    cancelled = 0
    owner = "account_id" if event.aggregate_type == "account" else "deal_id"
    running = Enrollment.objects.filter(
        **{owner: event.aggregate_id},
        state__in=[Enrollment.State.ACTIVE, Enrollment.State.PAUSED, Enrollment.State.COMPLETED],
    ).select_related("version")
    for enrollment in running:
        if event.name in enrollment.version.cancel_on:
            label = event.name.replace(".", " ").replace("_", " ")
            enrollment_cancel(enrollment=enrollment, reason=f"Cancelled: {label}.")
            cancelled += 1
    return cancelled


# Dispatch ----------------------------------------------------------------------------


@transaction.atomic
def step_runs_claim_due(*, limit: int | None = None) -> list[int]:
    """Claim due step runs (and runs whose lease expired) for execution.

    ``FOR UPDATE SKIP LOCKED`` lets several dispatchers run at once without taking the
    same rows; the claim commits before any message is sent.
    """
    limit = limit or settings.ENGINE_DISPATCH_BATCH
    now = clock.now()
    ids = list(
        StepRun.objects.select_for_update(skip_locked=True)
        .filter(state__in=StepRun.DUE_STATES, due_at__lte=now)
        .exclude(enrollment__state=Enrollment.State.PAUSED)
        .order_by("due_at")
        .values_list("id", flat=True)[:limit]
    )
    if len(ids) < limit:
        ids += list(
            StepRun.objects.select_for_update(skip_locked=True)
            .filter(state=StepRun.State.RUNNING, lease_until__lt=now)
            .order_by("lease_until")
            .values_list("id", flat=True)[: limit - len(ids)]
        )
    if ids:
        generation = Enrollment.objects.filter(pk=OuterRef("enrollment_id")).values("generation")[
            :1
        ]
        StepRun.objects.filter(pk__in=ids).update(
            state=StepRun.State.RUNNING,
            lease_until=_lease_until(now),
            attempts=F("attempts") + 1,
            generation=Subquery(generation),
        )
    return ids


def step_runs_dispatch_due(*, limit: int | None = None) -> int:
    """One dispatcher tick: claim what is due, then send it to the workers."""
    ids = step_runs_claim_due(limit=limit)
    step_runs_send(ids, inline=False)
    return len(ids)


# Execution ---------------------------------------------------------------------------


def step_run_execute(*, step_run_id: int) -> str:
    """Execute one claimed step run in one transaction. Returns what happened."""
    try:
        return _execute(step_run_id)
    except Exception as exc:
        logger.exception("step run %s failed", step_run_id)
        return step_run_record_failure(
            step_run_id=step_run_id, error=f"{type(exc).__name__}: {exc}"
        )


def _lock_enrollment(enrollment_id: int) -> Enrollment:
    # Lock order everywhere: enrollment, then its step runs (cancellation does the same).
    # of=("self",): lock only the enrollment row; PostgreSQL refuses FOR UPDATE on the
    # nullable side of the outer joins that select_related needs.
    return (
        Enrollment.objects.select_for_update(of=("self",))
        .select_related("version", "deal__primary_contact", "deal__owner", "account__csm")
        .get(pk=enrollment_id)
    )


@transaction.atomic
def _execute(step_run_id: int) -> str:
    enrollment_id = (
        StepRun.objects.filter(pk=step_run_id).values_list("enrollment_id", flat=True).first()
    )
    if enrollment_id is None:
        return "missing"
    enrollment = _lock_enrollment(enrollment_id)
    run = StepRun.objects.select_for_update().get(pk=step_run_id)
    if run.state != StepRun.State.RUNNING:
        return f"skipped: already {run.state}"  # a duplicate message
    now = clock.now()
    if enrollment.state != Enrollment.State.ACTIVE or run.generation != enrollment.generation:
        # The fence: the enrollment was cancelled or paused after this run was claimed.
        cancelled = enrollment.state == Enrollment.State.CANCELLED
        run.state = StepRun.State.CANCELLED if cancelled else StepRun.State.PENDING
        run.lease_until = None
        run.save(update_fields=["state", "lease_until"])
        return f"fenced: enrollment {enrollment.state}"
    step = enrollment.version.step(run.step_key)
    run.started_at = now
    data = condition_data(deal=enrollment.deal, account=enrollment.account, enrollment=enrollment)
    if not conditions_hold(step.get("conditions") or [], data):
        step_run_finish(
            enrollment=enrollment,
            run=run,
            state=StepRun.State.SKIPPED,
            result={"skipped": "conditions not met"},
            now=now,
        )
        return StepRun.State.SKIPPED
    result = step_kinds.get(run.kind).execute(
        step_kinds.StepExecution(
            step_run=run,
            enrollment=enrollment,
            deal=enrollment.deal,
            account=enrollment.account,
            step=step,
            now=now,
        )
    )
    step_run_finish(
        enrollment=enrollment, run=run, state=StepRun.State.DONE, result=result, now=now
    )
    return StepRun.State.DONE


def step_run_finish(
    *, enrollment: Enrollment, run: StepRun, state: str, result: dict | None, now: dt.datetime
) -> None:
    """Record a finished run (both rows locked by the caller): its result goes into the
    enrollment context for later conditions; successors and the next occurrence are
    scheduled; the enrollment completes when nothing is left to do."""
    step = enrollment.version.step(run.step_key)
    run.state = state
    run.result = result or {}
    run.lease_until = None
    run.finished_at = now
    run.last_error = ""
    run.save(
        update_fields=["state", "result", "lease_until", "started_at", "finished_at", "last_error"]
    )
    steps_context = enrollment.context.setdefault("steps", {})
    steps_context[run.step_key] = {"state": state, "occurrence": run.occurrence, **run.result}
    enrollment.save(update_fields=["context", "updated_at"])
    event_emit(
        name="step.completed" if state == StepRun.State.DONE else "step.skipped",
        aggregate=run,
        payload={
            "enrollment_id": enrollment.pk,
            "deal_id": enrollment.deal_id,
            "step_key": run.step_key,
            "occurrence": run.occurrence,
        },
    )
    # A skipped step is a branch not taken: what waits for it does not start.
    if state == StepRun.State.DONE:
        successors = [
            s
            for s in enrollment.version.steps
            if s.get("start") == "after_step" and s.get("after_step") == run.step_key
        ]
        step_runs_schedule(enrollment=enrollment, steps=successors, base=now)
    every, most = step.get("repeat_every_days"), step.get("repeat_max")
    if every and (most is None or run.occurrence < most):
        # Timed from the first occurrence, so moves into a send window do not accumulate.
        first = (
            run.due_at
            if run.occurrence == 1
            else enrollment.step_runs.get(step_key=run.step_key, occurrence=1).due_at
        )
        again = {**step, "delay_days": every * run.occurrence, "delay_hours": 0}
        step_runs_schedule(
            enrollment=enrollment, steps=[again], base=first, occurrence=run.occurrence + 1
        )
    if not enrollment.step_runs.exclude(state__in=StepRun.FINISHED_STATES).exists():
        enrollment.state = Enrollment.State.COMPLETED
        enrollment.finished_at = now
        enrollment.save(update_fields=["state", "finished_at", "updated_at"])
    logger.info(
        "step run %s (%s#%s) %s for enrollment %s",
        run.pk,
        run.step_key,
        run.occurrence,
        state,
        enrollment.pk,
    )


@transaction.atomic
def step_run_record_failure(*, step_run_id: int, error: str) -> str:
    """Schedule a retry with exponential backoff, or mark the run dead after the last."""
    run = StepRun.objects.select_for_update().filter(pk=step_run_id).first()
    if run is None or run.state != StepRun.State.RUNNING:
        return "failure ignored: not running"
    now = clock.now()
    run.last_error = error[:4000]
    run.lease_until = None
    if run.attempts >= settings.ENGINE_MAX_ATTEMPTS:
        run.state = StepRun.State.DEAD
        run.finished_at = now
    else:
        run.state = StepRun.State.FAILED
        run.due_at = now + _retry_delay(run.attempts)
    run.save(update_fields=["state", "last_error", "lease_until", "due_at", "finished_at"])
    return run.state


# Waiting for people -------------------------------------------------------------------

# Events a ``wait`` step can wait for. Their payload names the enrollment and the step
# whose effect they concern (a task completed for the kickoff step, say).
WAITABLE_EVENTS = ("task.completed", "task.skipped", "survey.answered")


def _wait_marker(event_name: str, step_key: str) -> str:
    return f"{event_name}:{step_key}"


def step_runs_resume_waiting(event: DomainEvent) -> int:
    """Finish the ``wait`` steps that wait for ``event``; remember it for waits that have
    not been created yet. Returns how many waits it finished."""
    enrollment_id, step_key = event.payload.get("enrollment_id"), event.payload.get("step_key")
    if not enrollment_id or not step_key:
        return 0
    enrollment = _lock_enrollment(enrollment_id)
    enrollment.context.setdefault("events", {})[_wait_marker(event.name, step_key)] = (
        event.occurred_at.isoformat()
    )
    enrollment.save(update_fields=["context", "updated_at"])
    if enrollment.state != Enrollment.State.ACTIVE:
        return 0
    now, finished = clock.now(), 0
    waiting = enrollment.step_runs.select_for_update().filter(
        kind="wait", state__in=StepRun.DUE_STATES
    )
    for run in waiting:
        config = enrollment.version.step(run.step_key).get("config") or {}
        if config.get("until_event") == event.name and config.get("for_step") == step_key:
            run.started_at = now
            step_run_finish(
                enrollment=enrollment,
                run=run,
                state=StepRun.State.DONE,
                result={"outcome": "event", "event": event.name},
                now=now,
            )
            finished += 1
    return finished


def execute_wait_step(execution: step_kinds.StepExecution) -> dict[str, Any]:
    """A wait's run comes due at its timeout; the event may have come first."""
    config = execution.step.get("config") or {}
    marker = _wait_marker(config.get("until_event", ""), config.get("for_step", ""))
    if marker in execution.enrollment.context.get("events", {}):
        return {"outcome": "event", "event": config.get("until_event")}
    return {"outcome": "timeout"}


def validate_wait_config(config: dict[str, Any]) -> step_kinds.ConfigErrors:
    errors: step_kinds.ConfigErrors = {}
    if config.get("until_event") not in WAITABLE_EVENTS:
        errors["until_event"] = [f"Wait for one of: {', '.join(WAITABLE_EVENTS)}."]
    if not config.get("for_step"):
        errors["for_step"] = ["Name the step whose task or survey to wait for."]
    return errors


@transaction.atomic
def step_run_retry(*, step_run: StepRun, actor: Any = None) -> StepRun:
    """Give a dead (or failed) step run a fresh set of attempts, due now."""
    run = StepRun.objects.select_for_update().get(pk=step_run.pk)
    if run.state not in (StepRun.State.DEAD, StepRun.State.FAILED):
        raise Conflict(f"Only a dead or failed step can be retried; this one is {run.state}.")
    enrollment = Enrollment.objects.select_for_update().get(pk=run.enrollment_id)
    if enrollment.state == Enrollment.State.CANCELLED:
        raise Conflict("The enrollment was cancelled; its steps cannot be retried.")
    if enrollment.state == Enrollment.State.COMPLETED:  # the dead step was its last one
        enrollment.state, enrollment.finished_at = Enrollment.State.ACTIVE, None
        enrollment.save(update_fields=["state", "finished_at", "updated_at"])
    run.state = StepRun.State.PENDING
    run.due_at = clock.now()
    run.attempts = 0
    run.finished_at = None
    run.save(update_fields=["state", "due_at", "attempts", "finished_at"])
    logger.info("step run %s retried by %s", run.pk, actor)
    return run
