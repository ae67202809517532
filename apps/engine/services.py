"""The engine: enroll accounts in playbooks, schedule step runs as rows, claim and
execute them exactly once in effect, cancel what a reopened or lost deal no longer needs.

It knows no other app's events: triggers, waitable events and cancellations come from
``apps.core.event_registry``, step kinds from ``apps.core.step_kinds``.
"""

import datetime as dt
import logging
import threading
from typing import Any

from celery import current_task
from django.conf import settings
from django.db import transaction
from django.db.models import F, OuterRef, Subquery

from apps.core import clock, outbox, step_kinds
from apps.core import event_registry as registry
from apps.core.errors import Conflict
from apps.core.events import event_emit
from apps.core.models import DomainEvent
from apps.core.step_kinds import StepDefinition
from apps.customers.models import Account
from apps.deals.models import Deal
from apps.deals.selectors import deal_latest_won
from apps.engine.models import Enrollment, StepRun
from apps.engine.timing import Calendar, step_timing
from apps.playbooks.conditions import condition_data, conditions_hold
from apps.playbooks.filters import filters_match
from apps.playbooks.selectors import playbooks_for_trigger

logger = logging.getLogger(__name__)

SEND_CHUNK = 10


def _lease_until(now: dt.datetime) -> dt.datetime:
    return now + dt.timedelta(seconds=settings.ENGINE_LEASE_SECONDS)


STEP_RETRY = outbox.Backoff(first=dt.timedelta(seconds=30), cap=dt.timedelta(hours=6))


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
        outbox.send_now(run_steps, chunk, what=f"step runs {chunk} (leased until reclaimed)")


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
    """Enroll the account the event concerns in every active playbook whose trigger it
    fires and whose filters match.

    The deal is the event's own, or for an account event the account's latest won deal
    (None if it has none). Idempotent: the (playbook, account, trigger event) unique key
    means a second run of the same event finds the enrollment and schedules nothing new.
    """
    started = []
    for trigger in registry.triggers_fired_by(event.name):
        subject = trigger.subject(event)
        if subject is None:
            logger.warning("event %s names no account; trigger %s ignored", event.pk, trigger.name)
            continue
        playbooks = list(playbooks_for_trigger(trigger=trigger.name))
        if not playbooks:
            continue
        account = Account.objects.select_related("csm").get(pk=subject.account_id)
        deal = (
            Deal.objects.select_related("account").get(pk=subject.deal_id)
            if subject.deal_id
            else deal_latest_won(account=account)
        )
        for playbook in playbooks:
            enrollment = _enroll(playbook, trigger, event=event, account=account, deal=deal)
            if enrollment is not None:
                started.append(enrollment)
    return started


def _enroll(playbook, trigger, *, event: DomainEvent, account: Account, deal: Deal | None):
    version = playbook.current_version
    if not filters_match(
        version.filters,
        account=account,
        deal=deal,
        payload=event.payload,
        payload_filters=trigger.payload_filters,
    ):
        return None
    if reason := _enrollment_policy_refusal(playbook, account=account, deal=deal, now=clock.now()):
        logger.info("account %s not enrolled in %s: %s", account.pk, playbook, reason)
        return None
    enrollment, created = Enrollment.objects.get_or_create(
        playbook=playbook,
        account=account,
        trigger_event=event,
        defaults={"version": version, "deal": deal},
    )
    if not created:
        return None
    logger.info("enrollment %s: account %s in %s", enrollment.pk, account.pk, version)
    first = [step for step in version.definitions if step.starts_at_enrollment]
    step_runs_schedule(enrollment=enrollment, steps=first, base=clock.now())
    return enrollment


def _enrollment_policy_refusal(
    playbook, *, account: Account, deal: Deal | None, now: dt.datetime
) -> str | None:
    earlier = Enrollment.objects.filter(playbook=playbook)
    if playbook.enrollment_policy == playbook.Policy.ONCE_PER_DEAL:
        # Without a deal, "once" is per account.
        same = earlier.filter(deal=deal) if deal else earlier.filter(account=account, deal=None)
        if same.exists():
            return "already enrolled once (policy: once per deal)"
    days = playbook.account_cooldown_days
    if (
        days
        and earlier.filter(
            account_id=account.pk, created_at__gte=now - dt.timedelta(days=days)
        ).exists()
    ):
        return f"the account was enrolled within the last {days} days"
    return None


def step_runs_schedule(
    *,
    enrollment: Enrollment,
    steps: list[StepDefinition],
    base: dt.datetime,
    occurrence: int = 1,
) -> list[StepRun]:
    """Create the step runs for ``steps`` timed from ``base`` (for a repetition, the
    first occurrence's planned moment). Runs already due are claimed here and sent to
    the workers right after commit, not at the next tick."""
    if not steps:
        return []
    now = clock.now()
    calendar = Calendar.for_account(enrollment.account)
    runs, due_now = [], []
    for step in steps:
        timing = step_timing(step=step, base=base, calendar=calendar, occurrence=occurrence)
        is_due = timing.due <= now and enrollment.state == Enrollment.State.ACTIVE
        run, created = StepRun.objects.get_or_create(
            enrollment=enrollment,
            step_key=step.key,
            occurrence=occurrence,
            defaults={
                "kind": step.kind,
                "due_at": timing.due,
                "planned_at": timing.planned,
                "moved_because": timing.moved_because,
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
        due_at=F("due_at") + paused_for, planned_at=F("planned_at") + paused_for
    )
    enrollment.state = Enrollment.State.ACTIVE
    enrollment.paused_at = None
    enrollment.generation += 1
    enrollment.save(update_fields=["state", "paused_at", "generation", "updated_at"])
    logger.info("enrollment %s resumed by %s after %s", enrollment.pk, actor, paused_for)
    return enrollment


def enrollments_cancel_for_event(event: DomainEvent) -> int:
    """Cancel the running enrollments of the event's deal (or, for an account event, of
    the account) whose playbook version cancels on ``event``."""
    cancellation = registry.cancellation(event.name)
    subject = cancellation.subject(event) if cancellation else None
    if subject is None:
        return 0
    owner = {"deal_id": subject.deal_id} if subject.deal_id else {"account_id": subject.account_id}
    running = Enrollment.objects.filter(
        **owner,
        state__in=[Enrollment.State.ACTIVE, Enrollment.State.PAUSED, Enrollment.State.COMPLETED],
    ).select_related("version")
    cancelled = 0
    for enrollment in running:
        if event.name in enrollment.version.cancel_on:
            enrollment_cancel(
                enrollment=enrollment, reason=f"Cancelled: {cancellation.label.lower()}."
            )
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
    generation = Enrollment.objects.filter(pk=OuterRef("enrollment_id")).values("generation")[:1]
    lease = {
        "state": StepRun.State.RUNNING,
        "lease_until": _lease_until(now),
        "attempts": F("attempts") + 1,
        "generation": Subquery(generation),
    }
    ids = outbox.claim_due(
        StepRun.objects.filter(state__in=StepRun.DUE_STATES, due_at__lte=now).exclude(
            enrollment__state=Enrollment.State.PAUSED
        ),
        limit=limit,
        order_by=["due_at"],
        lease=lease,
    )
    if len(ids) < limit:
        ids += outbox.claim_due(
            StepRun.objects.filter(state=StepRun.State.RUNNING, lease_until__lt=now),
            limit=limit - len(ids),
            order_by=["lease_until"],
            lease=lease,
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
        .select_related(
            "version", "deal__primary_contact", "deal__owner", "account__csm", "account__owner"
        )
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
    kind = step_kinds.get(run.kind)
    run.started_at = now
    data = condition_data(deal=enrollment.deal, account=enrollment.account, enrollment=enrollment)
    skipped = None
    if not conditions_hold(list(step.conditions), data):
        skipped = "conditions not met"
    elif kind.needs_deal and enrollment.deal is None:
        skipped = f"“{step.name}” needs a deal, and {enrollment.account.name} has no won deal"
    if skipped:
        step_run_finish(
            enrollment=enrollment,
            run=run,
            state=StepRun.State.SKIPPED,
            result={"skipped": skipped},
            now=now,
        )
        return StepRun.State.SKIPPED
    result = kind.execute(
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
            for s in enrollment.version.definitions
            if not s.starts_at_enrollment and s.after_step == run.step_key
        ]
        step_runs_schedule(enrollment=enrollment, steps=successors, base=now)
    every, most = step.repeat_every_days, step.repeat_max
    if every and (most is None or run.occurrence < most):
        # Counted from the first occurrence's planned moment, so moves onto business days
        # and into send windows never accumulate.
        first = (
            run
            if run.occurrence == 1
            else enrollment.step_runs.get(step_key=run.step_key, occurrence=1)
        )
        step_runs_schedule(
            enrollment=enrollment,
            steps=[step],
            base=first.planned_at or first.due_at,
            occurrence=run.occurrence + 1,
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
        run.due_at = now + STEP_RETRY.after(run.attempts)
    run.save(update_fields=["state", "last_error", "lease_until", "due_at", "finished_at"])
    return run.state


# Waiting for people -------------------------------------------------------------------


def _wait_marker(event_name: str, step_key: str) -> str:
    return f"{event_name}:{step_key}"


def _waited_facts(enrollment: Enrollment, marker: str) -> dict[str, Any] | None:
    """What a waited event said, if it has happened (older rows kept only its time)."""
    seen = enrollment.context.get("events", {}).get(marker)
    if seen is None:
        return None
    return dict(seen.get("facts") or {}) if isinstance(seen, dict) else {}


def step_runs_resume_waiting(event: DomainEvent) -> int:
    """Finish the ``wait`` steps that wait for ``event``; remember it (with its facts)
    for waits that have not been created yet. The facts also land in the context of
    the step whose effect the event concerns, so later conditions can read them
    (``steps.nps_survey.score``). Returns how many waits it finished."""
    waitable = registry.waitable(event.name)
    target = waitable.target(event) if waitable else None
    if target is None:
        return 0
    enrollment_id, step_key = target
    if not Enrollment.objects.filter(pk=enrollment_id).exists():
        return 0
    facts = dict(waitable.facts(event))
    enrollment = _lock_enrollment(enrollment_id)
    enrollment.context.setdefault("events", {})[_wait_marker(event.name, step_key)] = {
        "at": event.occurred_at.isoformat(),
        "facts": facts,
    }
    enrollment.context.setdefault("steps", {}).setdefault(step_key, {}).update(facts)
    enrollment.save(update_fields=["context", "updated_at"])
    if enrollment.state != Enrollment.State.ACTIVE:
        return 0
    now, finished = clock.now(), 0
    waiting = enrollment.step_runs.select_for_update().filter(
        kind="wait", state__in=StepRun.DUE_STATES
    )
    for run in waiting:
        config = enrollment.version.step(run.step_key).config
        if config.get("until_event") == event.name and config.get("for_step") == step_key:
            run.started_at = now
            step_run_finish(
                enrollment=enrollment,
                run=run,
                state=StepRun.State.DONE,
                result={**facts, "outcome": "event", "event": event.name},
                now=now,
            )
            finished += 1
    return finished


def execute_wait_step(execution: step_kinds.StepExecution) -> dict[str, Any]:
    """A wait's run comes due at its timeout; the event may have come first."""
    config = execution.step.config
    event_name = config.get("until_event", "")
    facts = _waited_facts(
        execution.enrollment, _wait_marker(event_name, config.get("for_step", ""))
    )
    if facts is not None:
        return {**facts, "outcome": "event", "event": event_name}
    return {"outcome": "timeout"}


def validate_wait_config(config: dict[str, Any]) -> step_kinds.ConfigErrors:
    errors: step_kinds.ConfigErrors = {}
    known = [w.name for w in registry.waitables()]
    if config.get("until_event") not in known:
        errors["until_event"] = [f"Wait for one of: {', '.join(known) or 'no registered event'}."]
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
