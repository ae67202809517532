"""The engine: enroll accounts in playbooks, schedule step runs as rows, claim and
execute them exactly once in effect, cancel what a reopened or lost deal no longer needs.

It knows no other app's events: triggers, waitable events and cancellations come from
``apps.core.event_registry``, step kinds from ``apps.core.step_kinds``.
"""

import datetime as dt
import logging
from typing import Any

from django.db import transaction
from django.db.models import F

from apps.core import clock, outbox, step_kinds
from apps.core import event_registry as registry
from apps.core.errors import Conflict
from apps.core.models import DomainEvent
from apps.core.step_kinds import StepDefinition
from apps.customers.models import Account
from apps.deals.models import Deal
from apps.deals.selectors import deal_latest_won
from apps.engine.execution import (
    ENROLLMENT_RELATED,
    FinishedRun,
    enrollment_events_emit,
    step_runs_build,
    step_runs_finish,
    step_runs_save,
    steps_drain,
)
from apps.engine.models import Enrollment, StepRun
from apps.engine.timing import company_holidays_read_once
from apps.playbooks.filters import filters_match
from apps.playbooks.selectors import playbooks_for_trigger

logger = logging.getLogger(__name__)

# Enrollment --------------------------------------------------------------------------


def enrollments_start_for_event(event: DomainEvent) -> list[Enrollment]:
    """Enroll the account the event concerns in every active playbook whose trigger it
    fires and whose filters match (see ``enrollments_start_for_events``)."""
    return enrollments_start_for_events([event])


def enrollments_start_for_events(events: list[DomainEvent]) -> list[Enrollment]:
    """Enroll the accounts these events concern, with a few queries for the whole batch:
    playbooks per trigger, the accounts and deals, earlier enrollments for the policies,
    then one INSERT for the enrollments and one for their first step runs.

    The deal is the event's own, or for an account event the account's latest won deal
    (None if it has none). Idempotent: an event that already enrolled an account in a
    playbook (the unique key on playbook, account and trigger event) enrolls it again
    in nothing. The caller holds the events' row locks, so no one else is enrolling
    for the same events.
    """
    candidates = _candidates(events)
    if not candidates:
        return []
    now = clock.now()
    refused = _policy_refusals(candidates, now=now)
    enrollments: list[Enrollment] = []
    for candidate in candidates:
        event, playbook, account, deal = candidate
        if reason := refused.get(id(candidate)):
            logger.info("account %s not enrolled in %s: %s", account.pk, playbook, reason)
            continue
        enrollments.append(
            Enrollment(
                playbook=playbook,
                version=playbook.current_version,
                account=account,
                deal=deal,
                trigger_event=event,
                created_at=now,
            )
        )
    Enrollment.objects.bulk_create(enrollments)
    enrollment_events_emit(name="enrollment.started", enrollments=enrollments)
    runs: list[StepRun] = []
    with company_holidays_read_once():
        for enrollment in enrollments:
            opening = [s for s in enrollment.version.definitions if s.starts_at_enrollment]
            runs += step_runs_build(enrollment=enrollment, steps=opening, base=now, first=True)
    step_runs_save(runs)
    for enrollment in enrollments:
        logger.info(
            "enrollment %s: account %s in %s",
            enrollment.pk,
            enrollment.account_id,
            enrollment.version,
        )
    return enrollments


Candidate = tuple[DomainEvent, Any, Account, Deal | None]


def _candidates(events: list[DomainEvent]) -> list[Candidate]:
    """(event, playbook, account, deal) for every playbook an event's triggers start and
    whose filters match."""
    playbooks: dict[str, list] = {}
    wanted: list[tuple[DomainEvent, Any, Any]] = []
    for event in events:
        for trigger in registry.triggers_fired_by(event.name):
            subject = trigger.subject(event)
            if subject is None:
                logger.warning("event %s names no account; %s ignored", event.pk, trigger.name)
                continue
            if trigger.name not in playbooks:
                playbooks[trigger.name] = list(playbooks_for_trigger(trigger=trigger.name))
            if playbooks[trigger.name]:
                wanted.append((event, trigger, subject))
    if not wanted:
        return []
    accounts = Account.objects.select_related("csm", "owner").in_bulk(
        {subject.account_id for _, _, subject in wanted}
    )
    deals = Deal.objects.select_related("account").in_bulk(
        {subject.deal_id for _, _, subject in wanted if subject.deal_id}
    )
    already = set(
        Enrollment.objects.filter(trigger_event__in=[event for event, _, _ in wanted]).values_list(
            "playbook_id", "account_id", "trigger_event_id"
        )
    )
    candidates = []
    for event, trigger, subject in wanted:
        account = accounts.get(subject.account_id)
        if account is None:
            continue
        deal = deals.get(subject.deal_id) if subject.deal_id else deal_latest_won(account=account)
        for playbook in playbooks[trigger.name]:
            if (playbook.pk, account.pk, event.pk) in already:
                continue
            if filters_match(
                playbook.current_version.filters,
                account=account,
                deal=deal,
                payload=event.payload,
                payload_filters=trigger.payload_filters,
            ):
                candidates.append((event, playbook, account, deal))
                already.add((playbook.pk, account.pk, event.pk))
    return candidates


def _policy_refusals(candidates: list[Candidate], *, now: dt.datetime) -> dict[int, str]:
    """Why candidates may not enroll (once per deal, the account cool-down), keyed by
    ``id(candidate)``. Two queries for the batch; candidates earlier in the batch count."""
    playbook_ids = {playbook.pk for _, playbook, _, _ in candidates}
    earlier = Enrollment.objects.filter(playbook_id__in=playbook_ids)
    per_deal = set(
        earlier.filter(deal_id__in={d.pk for *_, d in candidates if d}).values_list(
            "playbook_id", "deal_id"
        )
    )
    cooldowns = {
        p.pk: p.account_cooldown_days for _, p, _, _ in candidates if p.account_cooldown_days
    }
    recent: dict[tuple[int, int], dt.datetime] = {}
    if cooldowns:
        since = now - dt.timedelta(days=max(cooldowns.values()))
        for playbook_id, account_id, created in earlier.filter(
            playbook_id__in=cooldowns,
            account_id__in={a.pk for _, _, a, _ in candidates},
            created_at__gte=since,
        ).values_list("playbook_id", "account_id", "created_at"):
            recent[(playbook_id, account_id)] = created
    dealless = set(
        earlier.filter(
            deal__isnull=True, account_id__in={a.pk for _, _, a, d in candidates if d is None}
        ).values_list("playbook_id", "account_id")
    )
    refusals: dict[int, str] = {}
    for candidate in candidates:
        _, playbook, account, deal = candidate
        once = playbook.enrollment_policy == playbook.Policy.ONCE_PER_DEAL
        # Without a deal, "once" is per account.
        key = (playbook.pk, deal.pk) if deal else (playbook.pk, account.pk)
        seen = per_deal if deal else dealless
        days = cooldowns.get(playbook.pk)
        last = recent.get((playbook.pk, account.pk))
        if once and key in seen:
            refusals[id(candidate)] = "already enrolled once (policy: once per deal)"
        elif days and last is not None and last >= now - dt.timedelta(days=days):
            refusals[id(candidate)] = f"the account was enrolled within the last {days} days"
        else:
            seen.add(key)
            recent[(playbook.pk, account.pk)] = now
    return refusals


def step_runs_schedule(
    *,
    enrollment: Enrollment,
    steps: list[StepDefinition],
    base: dt.datetime,
    occurrence: int = 1,
    first: bool = False,
) -> None:
    """Create the step runs for ``steps`` timed from ``base`` (for a repetition, the
    first occurrence's planned moment). Those already due wake a worker after commit."""
    step_runs_save(
        step_runs_build(
            enrollment=enrollment, steps=steps, base=base, occurrence=occurrence, first=first
        )
    )


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


# Dispatch ---------------------------------------------------------------------------


def step_runs_dispatch_due() -> int:
    """Execute the step runs that are due, batch after batch. Returns how many."""
    return steps_drain()


def _lock_enrollment(enrollment_id: int) -> Enrollment:
    # Lock order everywhere: enrollment, then its step runs (cancellation does the same).
    return (
        Enrollment.objects.select_for_update(of=("self",))
        .select_related(*ENROLLMENT_RELATED)
        .get(pk=enrollment_id)
    )


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
    now, ended = clock.now(), []
    waiting = enrollment.step_runs.select_for_update().filter(
        kind="wait", state__in=StepRun.DUE_STATES
    )
    for run in waiting:
        config = enrollment.version.step(run.step_key).config
        if config.get("until_event") == event.name and config.get("for_step") == step_key:
            run.started_at = now
            result = {**facts, "outcome": "event", "event": event.name}
            ended.append(FinishedRun(run, StepRun.State.DONE, result))
    step_runs_finish(finished=ended, enrollments={enrollment.pk: enrollment}, now=now)
    return len(ended)


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
def step_run_run_now(*, step_run: StepRun, actor: Any) -> StepRun:
    """Make a scheduled step due now, recording who asked, when, and when it was due.
    Only a pending or failed step of an active enrollment can be brought forward."""
    run = StepRun.objects.select_for_update().get(pk=step_run.pk)
    if run.state not in StepRun.DUE_STATES:
        raise Conflict(f"Only a pending or failed step can run now; this one is {run.state}.")
    enrollment = Enrollment.objects.get(pk=run.enrollment_id)
    if enrollment.state != Enrollment.State.ACTIVE:
        raise Conflict(f"The enrollment is {enrollment.state}; resume it first.")
    now = clock.now()
    run.run_now_was_due_at, run.due_at = run.due_at, now
    run.run_now_at, run.run_now_by = now, actor if getattr(actor, "pk", None) else None
    run.save(update_fields=["due_at", "run_now_at", "run_now_by", "run_now_was_due_at"])
    outbox.wake_after_commit(drainer="steps")
    logger.info("step run %s brought forward by %s", run.pk, actor)
    return run


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
