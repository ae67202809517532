"""Creating tasks and changing their status: start, complete, skip, snooze, cancel,
comment, and edits to their details.

Status changes go through the django-fsm transitions, whose ``ConcurrentTransitionMixin``
saves only if the status is still the one the caller loaded, and every service saves only
the fields it changes, so a snooze never overwrites an assignment made a moment earlier.
"""

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django_fsm import can_proceed

from apps.core import clock
from apps.core.errors import Conflict, NotPermitted, ValidationFailed
from apps.core.events import EventSpec, event_emit, events_emit_many
from apps.core.writes import model_changes_apply, model_validate, require_known_fields
from apps.queues import selectors
from apps.queues.models import OUTCOMES_BY_KIND, Queue, Task, TaskActivity
from apps.queues.services.activity import activity_record, person_name, person_or_none, status_label
from apps.queues.services.assignment import (
    PERSONAL_STRATEGIES,
    REASON_LENGTH,
    assignee_pick,
    assignees_pick_personal,
    assignment_record,
    task_assign,
    task_claim,
)
from apps.queues.services.guards import require_can_work, require_open, task_save_fields
from apps.queues.services.sla import (
    business_hours_after,
    queue_calendar,
    sla_due_at_after_snooze,
    sla_due_at_for,
)

Activity = TaskActivity.Kind
Strategy = Queue.Strategy

SNOOZE_LIMIT = dt.timedelta(days=366)
# What people may edit on a task; status, outcome and SLA change through their services.
TASK_DETAILS = ("title", "body", "kind", "queue", "priority", "due_at", "account", "deal")


@transaction.atomic
def task_create(
    *,
    queue: Queue,
    title: str,
    body: str = "",
    kind: str = "general",
    account: Any = None,
    deal: Any = None,
    step_run: Any = None,
    assignee: Any = None,
    assignment_reason: str = "",
    priority: int = Task.Priority.P3,
    due_at: dt.datetime | None = None,
    strategy: str | None = None,
    sla_hours: float | None = None,
    actor: Any = None,
) -> Task:
    """Create a task. Without an ``assignee``, ``strategy`` (or else the queue's own
    strategy) picks one. The SLA deadline comes from ``sla_hours`` or the queue's.

    For a playbook step, a second call for the same step run returns the existing task
    (the one-to-one key makes a duplicate delivery harmless)."""
    if step_run is not None:
        existing = Task.objects.filter(step_run=step_run).first()
        if existing is not None:
            return existing
    now = clock.now()
    picked = assignee is None and (strategy or queue.assignment_strategy) != Strategy.UNASSIGNED
    if assignee is None:
        assignee, assignment_reason = assignee_pick(
            queue=queue, strategy=strategy, account=account, deal=deal
        )
    elif not assignment_reason:
        assignment_reason = f"Assigned to {person_name(assignee)} when the task was created."
    task = Task.objects.create(
        queue=queue,
        title=title[:300],
        body=body,
        kind=kind,
        account=account,
        deal=deal,
        step_run=step_run,
        assignee=assignee,
        assignment_reason=assignment_reason[:REASON_LENGTH],
        priority=priority,
        due_at=due_at,
        sla_due_at=sla_due_at_for(queue=queue, start=now, sla_hours=sla_hours),
        created_at=now,
    )
    if step_run is not None:
        origin = " by a playbook step"
    elif person_or_none(actor) is not None:
        origin = f" by {person_name(actor)}"
    else:
        origin = ""
    activity_record(
        task, Activity.CREATED, actor=actor, message=f"Created{origin} in {queue.name}."
    )
    event_emit(
        name="task.created",
        aggregate=task,
        actor=person_or_none(actor),
        payload={"task_id": task.pk, "queue": queue.slug, "assignee_id": task.assignee_id},
    )
    if task.assignee_id is not None:
        assignment_record(task, actor=actor, reason=task.assignment_reason)
    elif picked:  # a rule found nobody: say why
        activity_record(task, Activity.ASSIGNED, actor=actor, message=assignment_reason)
    return task


@dataclass(frozen=True)
class StepTask:
    """A task a playbook step asks for (see ``tasks_create_for_steps``)."""

    step_run: Any
    queue: Queue
    title: str
    body: str
    kind: str
    account: Any
    deal: Any
    strategy: str | None
    priority: int
    due_at: dt.datetime | None
    sla_hours: float | None


def tasks_create_for_steps(*, specs: list[StepTask]) -> list[Task]:
    """``task_create`` for many playbook steps at once, with one statement per table:
    the tasks, their activity lines and their ``task.created`` / ``task.assigned``
    events. Assignment to the account's CSM or the deal owner shares one availability
    lookup (out of office, backups, capacity, counting the tasks given out in this
    batch); other strategies pick one task at a time. A step that already has its task
    gets it back (a duplicate delivery)."""
    existing = {
        task.step_run_id: task
        for task in Task.objects.filter(step_run__in=[spec.step_run for spec in specs])
    }
    fresh = [spec for spec in specs if spec.step_run.pk not in existing]
    now = clock.now()
    personal = [
        spec
        for spec in fresh
        if (spec.strategy or spec.queue.assignment_strategy) in PERSONAL_STRATEGIES
    ]
    picked = dict(
        zip(
            [id(spec) for spec in personal],
            assignees_pick_personal(
                picks=[
                    (spec.strategy or spec.queue.assignment_strategy, spec.account, spec.deal)
                    for spec in personal
                ],
                now=now,
            ),
            strict=True,
        )
    )
    calendars: dict[int, Any] = {}
    tasks, tried = [], []
    for spec in fresh:
        strategy = spec.strategy or spec.queue.assignment_strategy
        if id(spec) in picked:
            assignee, reason = picked[id(spec)]
        else:
            assignee, reason = assignee_pick(
                queue=spec.queue, strategy=spec.strategy, account=spec.account, deal=spec.deal
            )
        tried.append(strategy != Strategy.UNASSIGNED)
        tasks.append(
            Task(
                queue=spec.queue,
                title=spec.title[:300],
                body=spec.body,
                kind=spec.kind,
                account=spec.account,
                deal=spec.deal,
                step_run=spec.step_run,
                assignee=assignee,
                assignment_reason=reason[:REASON_LENGTH],
                priority=spec.priority,
                due_at=spec.due_at,
                sla_due_at=_sla_due(spec, now, calendars),
                created_at=now,
            )
        )
    Task.objects.bulk_create(tasks)
    activities, events = [], []
    for task, assignment_tried in zip(tasks, tried, strict=True):
        activities.append(
            TaskActivity(
                task=task,
                kind=Activity.CREATED,
                message=f"Created by a playbook step in {task.queue.name}.",
                created_at=now,
            )
        )
        events.append(
            EventSpec(
                name="task.created",
                aggregate_type="task",
                aggregate_id=task.pk,
                payload={
                    "task_id": task.pk,
                    "queue": task.queue.slug,
                    "assignee_id": task.assignee_id,
                },
            )
        )
        if task.assignee_id is not None or assignment_tried:
            activities.append(
                TaskActivity(
                    task=task,
                    kind=Activity.ASSIGNED,
                    message=task.assignment_reason,
                    created_at=now,
                )
            )
        if task.assignee_id is not None:
            events.append(
                EventSpec(
                    name="task.assigned",
                    aggregate_type="task",
                    aggregate_id=task.pk,
                    payload={
                        "task_id": task.pk,
                        "assignee_id": task.assignee_id,
                        "reason": task.assignment_reason,
                        "actor_id": None,
                        "queue_id": task.queue_id,
                    },
                )
            )
    TaskActivity.objects.bulk_create(activities)
    events_emit_many(events=events)
    created = {task.step_run_id: task for task in tasks}
    return [existing.get(spec.step_run.pk) or created[spec.step_run.pk] for spec in specs]


def _sla_due(spec: StepTask, now: dt.datetime, calendars: dict[int, Any]) -> dt.datetime | None:
    hours = spec.sla_hours if spec.sla_hours is not None else spec.queue.sla_hours
    if not hours:
        return None
    if spec.queue.pk not in calendars:
        calendars[spec.queue.pk] = queue_calendar(spec.queue)
    return business_hours_after(start=now, hours=hours, calendar=calendars[spec.queue.pk])


@transaction.atomic
def task_cancel(*, task: Task, reason: str, actor: Any = None) -> bool:
    """Cancel an open task; returns False if it was already finished. With an ``actor``
    (a person rather than the engine), they must be allowed to work the task."""
    if not can_proceed(task.cancel):
        return False
    if actor is not None:
        require_can_work(task, actor)
    task.cancel()
    task.cancelled_reason = reason
    task_save_fields(task, ["status", "cancelled_reason"])
    activity_record(task, Activity.CANCELLED, actor=actor, message=reason)
    event_emit(
        name="task.cancelled",
        aggregate=task,
        actor=person_or_none(actor),
        payload={"task_id": task.pk, "reason": reason, "completed_at": clock.now().isoformat()},
    )
    return True


@transaction.atomic
def task_update(*, task: Task, actor: Any, reason: str = "", **changes: Any) -> Task:
    """Edit a task's details (``TASK_DETAILS``) and, with ``assignee``, hand it to someone
    else through ``task_assign``, so the handover is recorded and announced like any
    other (``reason`` goes with it). Saves only what changed; a refusal names the field
    and saves nothing."""
    require_known_fields(changes, (*TASK_DETAILS, "assignee"))
    if not getattr(actor, "is_authenticated", False) or not actor.has_perm("queues.change_task"):
        raise NotPermitted("You may not change tasks.")
    require_can_work(task, actor)
    assign = "assignee" in changes
    assignee = changes.pop("assignee", None)
    before = {name: getattr(task, name) for name in changes}
    changed = model_changes_apply(task, changes)
    if changed:
        model_validate(task, message="The task was not saved.", fields=changed)
        task_save_fields(task, changed)
        activity_record(
            task,
            Activity.EDITED,
            actor=actor,
            message="; ".join(
                f"{Task._meta.get_field(name).verbose_name}: {before[name]} → {getattr(task, name)}"
                for name in changed
            )
            + (f" ({reason})" if reason else ""),
        )
    if assign and getattr(assignee, "pk", None) != task.assignee_id:
        task_assign(task=task, actor=actor, assignee=assignee, reason=reason)
    return task


@transaction.atomic
def task_start(*, task: Task, actor: Any) -> Task:
    """Start work on a task; an unassigned one is claimed first."""
    require_open(task)
    if task.assignee_id is None:
        task = task_claim(task=task, actor=actor)
    elif task.assignee_id != actor.pk:
        raise NotPermitted(f"This task is assigned to {person_name(task.assignee)}.")
    if task.status == Task.Status.IN_PROGRESS:
        return task
    task.start()
    task_save_fields(task, ["status"])
    activity_record(task, Activity.STARTED, actor=actor)
    return task


def outcome_problem(kind: str, outcome: str) -> str | None:
    """Why ``outcome`` will not do for a task of ``kind``; None if it will."""
    required = OUTCOMES_BY_KIND.get(kind)
    if required is None:
        if len(outcome) > Task._meta.get_field("outcome").max_length:
            return "Keep the outcome to 50 characters; put the rest in the notes."
        return None
    if outcome in required:
        return None
    choices = ", ".join(f"{key} ({label})" for key, label in required.items())
    if not outcome:
        return f"Say how it went: one of {choices}."
    return f"“{outcome}” is not an outcome of this task; use one of {choices}."


@transaction.atomic
def task_complete(*, task: Task, actor: Any, outcome: str = "", notes: str = "") -> Task:
    """Mark a task done; playbook steps waiting for it resume on the event.

    Kinds such as calls need an outcome (reached, no answer, rescheduled)."""
    if not can_proceed(task.complete):
        raise Conflict(f"This task is already {status_label(task.status)}.")
    require_can_work(task, actor)
    outcome = (outcome or "").strip()
    if problem := outcome_problem(task.kind, outcome):
        raise ValidationFailed(problem, {"outcome": [problem]})
    task.complete()
    task.completed_by = person_or_none(actor)
    task.outcome = outcome
    task.outcome_notes = notes
    task.snoozed_until = None
    task_save_fields(
        task,
        ["status", "completed_at", "completed_by", "outcome", "outcome_notes", "snoozed_until"],
    )
    label = OUTCOMES_BY_KIND.get(task.kind, {}).get(outcome, outcome)
    activity_record(
        task,
        Activity.COMPLETED,
        actor=actor,
        message="; ".join(part for part in (label, notes) if part),
    )
    event_emit(
        name="task.completed",
        aggregate=task,
        actor=person_or_none(actor),
        payload=_task_payload(task),
    )
    return task


@transaction.atomic
def task_skip(*, task: Task, actor: Any, reason: str) -> Task:
    """Close a task without doing it (the customer already did it, it no longer applies)."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed("Say why.", {"reason": ["Say why the task is skipped."]})
    if not can_proceed(task.skip):
        raise Conflict(f"This task is already {status_label(task.status)}.")
    require_can_work(task, actor)
    task.skip()
    task.completed_by = person_or_none(actor)
    task.skipped_reason = reason
    task.snoozed_until = None
    task_save_fields(
        task, ["status", "completed_at", "completed_by", "skipped_reason", "snoozed_until"]
    )
    activity_record(task, Activity.SKIPPED, actor=actor, message=reason)
    event_emit(
        name="task.skipped",
        aggregate=task,
        actor=person_or_none(actor),
        payload={**_task_payload(task), "reason": reason},
    )
    return task


@transaction.atomic
def task_snooze(*, task: Task, actor: Any, until: dt.datetime) -> Task:
    """Hide an open task from work lists until ``until``; then it comes back by itself.
    In a queue that pauses the SLA while a task is snoozed, its SLA deadline moves by the
    business hours it will spend snoozed."""
    now = clock.now()
    if until is None or until <= now:
        raise ValidationFailed(
            "Pick a later time.", {"until": ["Snooze until a time in the future."]}
        )
    if until - now > SNOOZE_LIMIT:
        raise ValidationFailed(
            "Too far ahead.", {"until": ["Snooze for a year at most; cancel the task instead."]}
        )
    require_open(task)
    require_can_work(task, actor)
    sla_due_at = sla_due_at_after_snooze(task=task, now=now, until=until)
    message = f"Snoozed until {until.isoformat()}."
    if sla_due_at != task.sla_due_at:
        message += f" SLA clock paused: due {sla_due_at.isoformat()}."
    task.snoozed_until, task.sla_due_at = until, sla_due_at
    task_save_fields(task, ["snoozed_until", "sla_due_at"])
    activity_record(task, Activity.SNOOZED, actor=actor, message=message)
    event_emit(
        name="task.snoozed",
        aggregate=task,
        actor=person_or_none(actor),
        payload={"task_id": task.pk, "assignee_id": task.assignee_id, "until": until.isoformat()},
    )
    return task


@transaction.atomic
def task_comment(*, task: Task, actor: Any, body: str) -> TaskActivity:
    """Add a comment to the task's activity."""
    body = (body or "").strip()
    if not body:
        raise ValidationFailed("Write something.", {"body": ["The comment is empty."]})
    if len(body) > 10_000:
        raise ValidationFailed("Too long.", {"body": ["Keep a comment under 10,000 characters."]})
    if not selectors.tasks_visible_to(actor).filter(pk=task.pk).exists():
        raise NotPermitted("You cannot see this task.")
    return activity_record(task, Activity.COMMENTED, actor=actor, message=body)


def _task_payload(task: Task) -> dict[str, Any]:
    payload: dict[str, Any] = {"task_id": task.pk, "outcome": task.outcome}
    if task.step_run_id:
        run = task.step_run
        payload.update(enrollment_id=run.enrollment_id, step_key=run.step_key)
    return payload
