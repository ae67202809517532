"""Task writes. Playbook steps, the UI, the API and admin create and change tasks here.

Concurrency: two people acting on the same task at once must end with one winner and a
clear message for the other. Status changes go through the django-fsm transitions, whose
``ConcurrentTransitionMixin`` saves only if the status is still the one the caller
loaded; assignment changes are conditional UPDATEs (``… WHERE assignee IS NULL``) whose
row count says who won. Every service saves only the fields it changes, so a snooze
never overwrites an assignment made a moment earlier.
"""

import datetime as dt
import logging
import zoneinfo
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Count
from django_fsm import ConcurrentTransition, can_proceed

from apps.core import clock
from apps.core.errors import Conflict, DomainError, NotPermitted, ValidationFailed
from apps.core.events import event_emit
from apps.core.models import Profile
from apps.engine.timing import Calendar
from apps.queues import selectors
from apps.queues.models import (
    BUSINESS_DAY_END,
    BUSINESS_DAY_START,
    OUTCOMES_BY_KIND,
    Queue,
    Task,
    TaskActivity,
)

logger = logging.getLogger(__name__)

Activity = TaskActivity.Kind
Strategy = Queue.Strategy

SNOOZE_LIMIT = dt.timedelta(days=366)
REASON_LENGTH = Task._meta.get_field("assignment_reason").max_length
SLA_CHECK_BATCH = 500


# Helpers --------------------------------------------------------------------------------


def _name(user: Any) -> str:
    if user is None:
        return "nobody"
    return user.get_full_name() or user.get_username()


def _actor(actor: Any) -> Any:
    return actor if getattr(actor, "pk", None) else None


def _record(task: Task, kind: str, *, actor: Any = None, message: str = "") -> TaskActivity:
    return TaskActivity.objects.create(
        task=task, actor=_actor(actor), kind=kind, message=message, created_at=clock.now()
    )


def _status_label(status: str) -> str:
    return Task.Status(status).label.lower()


def _conflict_after_race(task: Task) -> Conflict:
    """Someone else changed the task between our read and our write: say what they did."""
    fresh = Task.objects.select_related("assignee", "completed_by").filter(pk=task.pk).first()
    if fresh is None:
        return Conflict("This task no longer exists.")
    if fresh.status == Task.Status.DONE:
        who = f" by {_name(fresh.completed_by)}" if fresh.completed_by else ""
        return Conflict(f"This task was completed{who} a moment ago; nothing was changed.")
    if not fresh.is_open:
        return Conflict(f"This task was {_status_label(fresh.status)} a moment ago.")
    return Conflict(
        "Someone else changed this task a moment ago; reload it to see its state and try again."
    )


def _save(task: Task, fields: Iterable[str]) -> None:
    try:
        # A savepoint, so that after a lost race the transaction can still read what won.
        with transaction.atomic():
            task.save(update_fields=[*fields, "updated_at"])
    except ConcurrentTransition:
        raise _conflict_after_race(task) from None


def _require_open(task: Task) -> None:
    if not task.is_open:
        raise Conflict(f"This task is already {_status_label(task.status)}.")


def _require_can_work(task: Task, actor: Any) -> None:
    """The service-level guard: nobody acts on someone else's task unless they oversee
    its queue. Callers find the task through ``selectors.tasks_visible_to`` (the API and
    the UI answer 404 otherwise) and check ``selectors.user_can_work`` for the full rule."""
    if not getattr(actor, "is_authenticated", False) or not actor.has_perm("queues.change_task"):
        raise NotPermitted("You may not work on tasks.")
    if task.assignee_id in (None, actor.pk):
        return
    if not selectors.user_oversees_queue(actor, task.queue, fresh=True):
        raise NotPermitted(
            f"This task is assigned to {_name(task.assignee)}; ask them or the queue's "
            "manager to reassign it."
        )


# SLA: business hours in the team's calendar ----------------------------------------------


def queue_calendar(queue: Queue) -> Calendar:
    """The team's working calendar: its time zone, its country's public holidays and the
    company holidays that apply to that country."""
    return Calendar.for_place(timezone=queue.timezone, country=queue.country)


def business_hours_after(*, start: dt.datetime, hours: float, calendar: Calendar) -> dt.datetime:
    """The UTC moment ``hours`` working hours after ``start``, counting only 09:00–17:00
    on the calendar's business days (a task created on Friday at 16:00 with an 8-hour SLA
    is due on Monday at 16:00, or Tuesday if Monday is a holiday)."""
    remaining = dt.timedelta(hours=hours)
    local = start.astimezone(calendar.tz)
    day = local.date()
    opens = calendar.localize(day, BUSINESS_DAY_START)
    cursor = max(local, opens) if calendar.is_business_day(day) else None
    while True:
        if cursor is None or cursor >= calendar.localize(day, BUSINESS_DAY_END):
            day = calendar.next_business_day(day + dt.timedelta(days=1))
            cursor = calendar.localize(day, BUSINESS_DAY_START)
        # Arithmetic in UTC: aware datetimes sharing a tzinfo subtract by wall clock.
        closes = calendar.localize(day, BUSINESS_DAY_END).astimezone(dt.UTC)
        available = closes - cursor.astimezone(dt.UTC)
        if remaining <= available:
            return cursor.astimezone(dt.UTC) + remaining
        remaining -= available
        cursor = None


def sla_due_at_for(
    *, queue: Queue, start: dt.datetime, sla_hours: float | None = None
) -> dt.datetime | None:
    hours = sla_hours if sla_hours is not None else queue.sla_hours
    if not hours:
        return None
    return business_hours_after(start=start, hours=hours, calendar=queue_calendar(queue))


# Assignment -----------------------------------------------------------------------------


def _open_counts(user_ids: Iterable[int]) -> dict[int, int]:
    rows = (
        Task.objects.filter(assignee_id__in=list(user_ids), status__in=Task.OPEN_STATUSES)
        .values("assignee_id")
        .annotate(n=Count("id"))
        .order_by()
    )
    return {row["assignee_id"]: row["n"] for row in rows}


def _profiles(user_ids: Iterable[int]) -> dict[int, Profile]:
    return {
        p.user_id: p
        for p in Profile.objects.filter(user_id__in=list(user_ids)).select_related("backup")
    }


def _local_today(profile: Profile | None, now: dt.datetime) -> dt.date:
    try:
        tz = zoneinfo.ZoneInfo(profile.timezone if profile else "UTC")
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        tz = zoneinfo.ZoneInfo("UTC")
    return now.astimezone(tz).date()


@dataclass
class _Availability:
    profiles: dict[int, Profile]
    open_counts: dict[int, int]
    now: dt.datetime

    def problem(self, user: Any) -> str | None:
        """Why ``user`` cannot take new work now, in plain words; None if they can."""
        if not user.is_active:
            return f"{_name(user)} is deactivated"
        profile = self.profiles.get(user.pk)
        if profile is None:
            return None
        if profile.is_out_of_office(_local_today(profile, self.now)):
            until = profile.out_of_office_until
            return f"{_name(user)} is out of office" + (f" until {until:%d %b}" if until else "")
        open_now = self.open_counts.get(user.pk, 0)
        if profile.capacity is not None and open_now >= profile.capacity:
            return f"{_name(user)} is at capacity ({open_now} open tasks)"
        return None

    def backup_of(self, user: Any) -> Any:
        profile = self.profiles.get(user.pk)
        return profile.backup if profile is not None else None


def _availability(users: list[Any], now: dt.datetime) -> _Availability:
    ids = {u.pk for u in users}
    profiles = _profiles(ids)
    backups = {p.backup_id for p in profiles.values() if p.backup_id}
    if backups - ids:
        profiles.update(_profiles(backups - ids))
    return _Availability(profiles=profiles, open_counts=_open_counts(ids | backups), now=now)


def _single_person(person: Any, label: str, now: dt.datetime) -> tuple[Any, str]:
    """The task goes to ``person``; if they cannot take it, to their backup; else nobody."""
    if person is None:
        return None, f"Nobody is {label}; left unassigned for the queue to claim."
    availability = _availability([person], now)
    problem = availability.problem(person)
    if problem is None:
        return person, f"Assigned to {label}, {_name(person)}."
    backup = availability.backup_of(person)
    if backup is not None and backup.pk != person.pk:
        if (backup_problem := availability.problem(backup)) is None:
            return backup, f"{problem}; given to their backup {_name(backup)}."
        return None, f"{problem} and their backup {backup_problem}; left unassigned."
    return None, f"{problem} and has no backup; left unassigned for the queue to claim."


def _from_members(queue: Queue, strategy: str, now: dt.datetime) -> tuple[Any, str]:
    # Lock the queue row first: two tasks created at once then take turns instead of
    # both going to the same member (or both filling the last slot of someone's capacity).
    cursor = (
        Queue.objects.select_for_update()
        .filter(pk=queue.pk)
        .values_list("round_robin_cursor", flat=True)
        .first()
    ) or 0
    members = list(queue.members.filter(is_active=True).order_by("pk"))
    if not members:
        return None, f"{queue.name} has no members; left unassigned."
    availability = _availability(members, now)
    if strategy == Strategy.ROUND_ROBIN:
        order = [m for m in members if m.pk > cursor] + [m for m in members if m.pk <= cursor]
        label = "Round-robin in {queue}: {name}'s turn"
    else:
        order = sorted(members, key=lambda m: (availability.open_counts.get(m.pk, 0), m.pk))
        label = "Fewest open tasks in {queue}: {name} ({count} open)"
    passed_over = []
    for member in order:
        if (problem := availability.problem(member)) is not None:
            passed_over.append(problem)
            continue
        if strategy == Strategy.ROUND_ROBIN:
            Queue.objects.filter(pk=queue.pk).update(round_robin_cursor=member.pk)
            queue.round_robin_cursor = member.pk
        reason = label.format(
            queue=queue.name,
            name=_name(member),
            count=availability.open_counts.get(member.pk, 0),
        )
        if passed_over:
            reason += f" (passed over: {'; '.join(passed_over)})"
        return member, reason + "."
    return None, (
        f"Every member of {queue.name} is out of office or at capacity; left unassigned "
        "for the queue to claim."
    )


@transaction.atomic
def assignee_pick(
    *, queue: Queue, strategy: str | None = None, account: Any = None, deal: Any = None
) -> tuple[Any, str]:
    """Choose who gets a new task in ``queue``, and say why in plain words.

    ``strategy`` is a queue strategy (default: the queue's own) or "user:<username>".
    People out of office pass the task to their backup if the backup can take it; people
    at their capacity limit are passed over. When nobody fits, the task stays unassigned
    and claimable by the queue's members.
    """
    strategy = strategy or queue.assignment_strategy
    now = clock.now()
    if strategy.startswith("user:"):
        username = strategy.removeprefix("user:")
        person = get_user_model().objects.filter(username=username).first()
        if person is None:
            return None, f"There is no user “{username}”; left unassigned."
        return _single_person(person, "the person the playbook names", now)
    if strategy == Strategy.ACCOUNT_CSM:
        return _single_person(getattr(account, "csm", None), "the account's CSM", now)
    if strategy == Strategy.DEAL_OWNER:
        return _single_person(getattr(deal, "owner", None), "the deal owner", now)
    if strategy in (Strategy.ROUND_ROBIN, Strategy.LEAST_OPEN):
        return _from_members(queue, strategy, now)
    return None, f"{queue.name} tasks are claimed by its members."


def _assigned(task: Task, *, actor: Any, reason: str, kind: str = Activity.ASSIGNED) -> None:
    """Record an assignment (the task row is already updated) and announce it."""
    _record(task, kind, actor=actor, message=reason)
    event_emit(
        name="task.assigned" if kind == Activity.ASSIGNED else "task.claimed",
        aggregate=task,
        actor=actor,
        payload={
            "task_id": task.pk,
            "assignee_id": task.assignee_id,
            "reason": reason,
            "actor_id": getattr(_actor(actor), "pk", None),
            "queue_id": task.queue_id,
        },
    )


# Create and cancel ----------------------------------------------------------------------


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
        assignment_reason = f"Assigned to {_name(assignee)} when the task was created."
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
    elif _actor(actor) is not None:
        origin = f" by {_name(actor)}"
    else:
        origin = ""
    _record(task, Activity.CREATED, actor=actor, message=f"Created{origin} in {queue.name}.")
    event_emit(
        name="task.created",
        aggregate=task,
        actor=_actor(actor),
        payload={"task_id": task.pk, "queue": queue.slug, "assignee_id": task.assignee_id},
    )
    if task.assignee_id is not None:
        _assigned(task, actor=actor, reason=task.assignment_reason)
    elif picked:  # a rule found nobody: say why
        _record(task, Activity.ASSIGNED, actor=actor, message=assignment_reason)
    return task


@transaction.atomic
def task_cancel(*, task: Task, reason: str, actor: Any = None) -> bool:
    """Cancel an open task; returns False if it was already finished. With an ``actor``
    (a person rather than the engine), they must be allowed to work the task."""
    if not can_proceed(task.cancel):
        return False
    if actor is not None:
        _require_can_work(task, actor)
    task.cancel()
    task.cancelled_reason = reason
    _save(task, ["status", "cancelled_reason"])
    _record(task, Activity.CANCELLED, actor=actor, message=reason)
    event_emit(
        name="task.cancelled",
        aggregate=task,
        actor=_actor(actor),
        payload={"task_id": task.pk, "reason": reason, "completed_at": clock.now().isoformat()},
    )
    return True


# Assignment changes ---------------------------------------------------------------------


@transaction.atomic
def task_claim(*, task: Task, actor: Any) -> Task:
    """Take an unassigned open task. Of two people claiming at once, one gets it and the
    other a Conflict naming the winner."""
    _require_open(task)
    if not selectors.user_can_work_queue(actor, task.queue, fresh=True):
        raise NotPermitted(f"Only members of {task.queue.name} can claim its tasks.")
    # The caller's copy may be stale either way, so the database decides who holds it.
    reason = f"Claimed by {_name(actor)}."
    # The WHERE clause is the lock: only one UPDATE finds the task still unassigned.
    claimed = Task.objects.filter(
        pk=task.pk, assignee__isnull=True, status__in=Task.OPEN_STATUSES
    ).update(assignee=actor, assignment_reason=reason[:REASON_LENGTH], updated_at=clock.now())
    if not claimed:
        fresh = Task.objects.select_related("assignee").filter(pk=task.pk).first()
        if fresh is not None and fresh.is_open and fresh.assignee_id == actor.pk:
            return fresh  # already theirs
        if fresh is not None and fresh.is_open and fresh.assignee is not None:
            raise Conflict(f"This task is already claimed by {_name(fresh.assignee)}.")
        raise _conflict_after_race(task)
    task.assignee = actor
    task.assignment_reason = reason[:REASON_LENGTH]
    _assigned(task, actor=actor, reason=reason, kind=Activity.CLAIMED)
    return task


def _may_be_given(assignee: Any, task: Task) -> bool:
    if not assignee.is_active or not assignee.has_perm("queues.view_task"):
        return False
    if selectors.user_can_work_queue(assignee, task.queue, fresh=True):
        return True
    # The strategies may give a task to the account's CSM or the deal owner.
    return (task.account is not None and task.account.csm_id == assignee.pk) or (
        task.deal is not None and task.deal.owner_id == assignee.pk
    )


@transaction.atomic
def task_assign(*, task: Task, actor: Any, assignee: Any, reason: str = "") -> Task:
    """Give an open task to ``assignee`` (or to nobody, making it claimable). Queue
    overseers may reassign any task; a member may hand on their own or an unassigned one."""
    _require_open(task)
    oversees = selectors.user_oversees_queue(actor, task.queue, fresh=True)
    may_hand_on = selectors.user_can_work_queue(actor, task.queue, fresh=True) and (
        task.assignee_id in (None, actor.pk)
    )
    if not (oversees or may_hand_on):
        raise NotPermitted(
            f"Only the {task.queue.name} queue's manager can reassign a task that is "
            "someone else's."
        )
    if assignee is not None and not _may_be_given(assignee, task):
        raise ValidationFailed(
            "Choose someone who works this queue.",
            {"assignee": [f"{_name(assignee)} does not work the {task.queue.name} queue."]},
        )
    if getattr(assignee, "pk", None) == task.assignee_id:
        return task
    why = reason.strip()
    if assignee is None:
        message = f"Unassigned by {_name(actor)}" + (f": {why}" if why else ".")
    else:
        message = f"Assigned to {_name(assignee)} by {_name(actor)}" + (f": {why}" if why else ".")
    previous = task.assignee_id
    # Conditional on the assignee we saw, so a claim made meanwhile is not silently undone.
    updated = Task.objects.filter(
        pk=task.pk, assignee_id=previous, status__in=Task.OPEN_STATUSES
    ).update(assignee=assignee, assignment_reason=message[:REASON_LENGTH], updated_at=clock.now())
    if not updated:
        raise _conflict_after_race(task)
    task.assignee = assignee
    task.assignment_reason = message[:REASON_LENGTH]
    _assigned(task, actor=actor, reason=message)
    return task


# Status changes -------------------------------------------------------------------------


@transaction.atomic
def task_start(*, task: Task, actor: Any) -> Task:
    """Start work on a task; an unassigned one is claimed first."""
    _require_open(task)
    if task.assignee_id is None:
        task = task_claim(task=task, actor=actor)
    elif task.assignee_id != actor.pk:
        raise NotPermitted(f"This task is assigned to {_name(task.assignee)}.")
    if task.status == Task.Status.IN_PROGRESS:
        return task
    task.start()
    _save(task, ["status"])
    _record(task, Activity.STARTED, actor=actor)
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
        raise Conflict(f"This task is already {_status_label(task.status)}.")
    _require_can_work(task, actor)
    outcome = (outcome or "").strip()
    if problem := outcome_problem(task.kind, outcome):
        raise ValidationFailed(problem, {"outcome": [problem]})
    task.complete()
    task.completed_by = _actor(actor)
    task.outcome = outcome
    task.outcome_notes = notes
    task.snoozed_until = None
    _save(
        task,
        ["status", "completed_at", "completed_by", "outcome", "outcome_notes", "snoozed_until"],
    )
    label = OUTCOMES_BY_KIND.get(task.kind, {}).get(outcome, outcome)
    _record(
        task,
        Activity.COMPLETED,
        actor=actor,
        message="; ".join(part for part in (label, notes) if part),
    )
    event_emit(
        name="task.completed", aggregate=task, actor=_actor(actor), payload=_task_payload(task)
    )
    return task


@transaction.atomic
def task_skip(*, task: Task, actor: Any, reason: str) -> Task:
    """Close a task without doing it (the customer already did it, it no longer applies)."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed("Say why.", {"reason": ["Say why the task is skipped."]})
    if not can_proceed(task.skip):
        raise Conflict(f"This task is already {_status_label(task.status)}.")
    _require_can_work(task, actor)
    task.skip()
    task.completed_by = _actor(actor)
    task.skipped_reason = reason
    task.snoozed_until = None
    _save(task, ["status", "completed_at", "completed_by", "skipped_reason", "snoozed_until"])
    _record(task, Activity.SKIPPED, actor=actor, message=reason)
    event_emit(
        name="task.skipped",
        aggregate=task,
        actor=_actor(actor),
        payload={**_task_payload(task), "reason": reason},
    )
    return task


@transaction.atomic
def task_snooze(*, task: Task, actor: Any, until: dt.datetime) -> Task:
    """Hide an open task from work lists until ``until``; then it comes back by itself."""
    now = clock.now()
    if until is None or until <= now:
        raise ValidationFailed(
            "Pick a later time.", {"until": ["Snooze until a time in the future."]}
        )
    if until - now > SNOOZE_LIMIT:
        raise ValidationFailed(
            "Too far ahead.", {"until": ["Snooze for a year at most; cancel the task instead."]}
        )
    _require_open(task)
    _require_can_work(task, actor)
    task.snoozed_until = until
    _save(task, ["snoozed_until"])
    _record(task, Activity.SNOOZED, actor=actor, message=f"Snoozed until {until.isoformat()}.")
    event_emit(
        name="task.snoozed",
        aggregate=task,
        actor=_actor(actor),
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
    return _record(task, Activity.COMMENTED, actor=actor, message=body)


def _task_payload(task: Task) -> dict[str, Any]:
    payload: dict[str, Any] = {"task_id": task.pk, "outcome": task.outcome}
    if task.step_run_id:
        run = task.step_run
        payload.update(enrollment_id=run.enrollment_id, step_key=run.step_key)
    return payload


# Bulk -----------------------------------------------------------------------------------


@dataclass
class BulkItem:
    task_id: int
    ok: bool
    message: str


@dataclass
class BulkResult:
    items: list[BulkItem] = field(default_factory=list)

    @property
    def succeeded(self) -> int:
        return sum(item.ok for item in self.items)

    @property
    def failed(self) -> int:
        return len(self.items) - self.succeeded

    @property
    def summary(self) -> str:
        done = f"{self.succeeded} of {len(self.items)} tasks done"
        return done if not self.failed else f"{done}; {self.failed} refused"


BULK_ACTIONS = ("claim", "assign", "snooze", "complete", "cancel")


def tasks_bulk(*, tasks: Iterable[Task], actor: Any, action: str, **params: Any) -> BulkResult:
    """Apply one action to many tasks, each in its own transaction: a task that is
    refused (someone else's, already done) gets its message and the others go on.

    ``params``: assign takes ``assignee`` and ``reason``; snooze ``until``; complete
    ``outcome`` and ``notes``; cancel ``reason``."""
    if action not in BULK_ACTIONS:
        raise ValidationFailed(
            "Unknown action.", {"action": [f"Use one of: {', '.join(BULK_ACTIONS)}."]}
        )
    result = BulkResult()
    for task in tasks:
        try:
            message = _bulk_one(task, actor=actor, action=action, params=params)
        except DomainError as exc:
            result.items.append(BulkItem(task_id=task.pk, ok=False, message=_message(exc)))
        else:
            result.items.append(BulkItem(task_id=task.pk, ok=True, message=message))
    return result


def _message(exc: DomainError) -> str:
    messages = [m for msgs in exc.errors.values() for m in msgs]
    return " ".join(messages) or exc.message


def _bulk_one(task: Task, *, actor: Any, action: str, params: dict[str, Any]) -> str:
    if action == "claim":
        task_claim(task=task, actor=actor)
        return "Claimed."
    if action == "assign":
        task_assign(
            task=task, actor=actor, assignee=params.get("assignee"), reason=params.get("reason", "")
        )
        return task.assignment_reason
    if action == "snooze":
        task_snooze(task=task, actor=actor, until=params.get("until"))
        return "Snoozed."
    if action == "complete":
        task_complete(
            task=task, actor=actor, outcome=params.get("outcome", ""), notes=params.get("notes", "")
        )
        return "Completed."
    reason = (params.get("reason") or "").strip()
    if not reason:
        raise ValidationFailed("Say why.", {"reason": ["Say why the tasks are cancelled."]})
    if not task_cancel(task=task, reason=reason, actor=actor):
        raise Conflict(f"This task is already {_status_label(task.status)}.")
    return "Cancelled."


# SLAs -----------------------------------------------------------------------------------


def tasks_check_slas(*, limit: int = SLA_CHECK_BATCH) -> int:
    """Periodic: mark open tasks whose SLA deadline has passed as breached, once each.

    Records the breach, raises the priority one level where the queue says so, and emits
    ``task.sla_breached`` for the assignee and the queue's manager to be told. Running it
    again (or on two workers at once) breaches nothing twice. Returns how many it marked.
    """
    now = clock.now()
    due = list(
        Task.objects.filter(
            status__in=Task.OPEN_STATUSES, sla_breached_at__isnull=True, sla_due_at__lte=now
        )
        .order_by("sla_due_at")
        .values_list("pk", flat=True)[:limit]
    )
    breached = sum(_task_breach(task_id=task_id, now=now) for task_id in due)
    if breached:
        logger.info("%s task SLAs breached", breached)
    return breached


@transaction.atomic
def _task_breach(*, task_id: int, now: dt.datetime) -> bool:
    # The conditional UPDATE is the guard: a second run, or a second worker, finds the
    # breach already marked and does nothing.
    marked = Task.objects.filter(
        pk=task_id, status__in=Task.OPEN_STATUSES, sla_breached_at__isnull=True
    ).update(sla_breached_at=now, updated_at=now)
    if not marked:
        return False
    task = Task.objects.select_related("queue").get(pk=task_id)
    _record(
        task,
        Activity.SLA_BREACHED,
        message=f"SLA deadline {task.sla_due_at:%Y-%m-%d %H:%M} UTC passed.",
    )
    raised = task.queue.raise_priority_on_breach and task.priority > Task.Priority.P1
    if raised:
        before = task.priority
        task.priority = before - 1
        Task.objects.filter(pk=task_id).update(priority=task.priority)
        _record(
            task,
            Activity.PRIORITY_RAISED,
            message=f"Priority raised from P{before} to P{task.priority} on the SLA breach.",
        )
    event_emit(
        name="task.sla_breached",
        aggregate=task,
        payload={
            "task_id": task.pk,
            "assignee_id": task.assignee_id,
            "manager_id": task.queue.manager_id,
            "queue_id": task.queue_id,
            "priority": task.priority,
            "priority_raised": raised,
        },
    )
    return True
