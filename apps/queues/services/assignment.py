"""Who gets a task: the assignment strategies with out-of-office, backups and capacity,
and the claims and reassignments people make.

Assignment changes are conditional UPDATEs (``… WHERE assignee IS NULL``) whose row count
says who won, so of two people claiming at once one gets the task and the other is told.
"""

import datetime as dt
import zoneinfo
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Count

from apps.core import clock
from apps.core.dates import date_text
from apps.core.errors import Conflict, NotPermitted, ValidationFailed
from apps.core.events import event_emit
from apps.core.models import Profile
from apps.queues import selectors
from apps.queues.models import Queue, Task, TaskActivity
from apps.queues.services.activity import activity_record, person_name, person_or_none
from apps.queues.services.guards import conflict_after_race, require_open

Activity = TaskActivity.Kind
Strategy = Queue.Strategy

REASON_LENGTH = Task._meta.get_field("assignment_reason").max_length


def _open_counts(user_ids: Iterable[int]) -> dict[int, int]:
    """Every open task of each person, counted (the least-open strategy compares them)."""
    rows = (
        Task.objects.filter(assignee_id__in=list(user_ids), status__in=Task.OPEN_STATUSES)
        .values("assignee_id")
        .annotate(n=Count("id"))
        .order_by()
    )
    return {row["assignee_id"]: row["n"] for row in rows}


def _open_counts_to_capacity(profiles: Iterable[Profile]) -> dict[int, int]:
    """Open tasks of each person who has a capacity, counted only up to it: a bounded
    scan of the assignee index (``LIMIT capacity``) however many tasks they hold, since
    all a capacity check needs is whether the limit is reached. People without a limit
    are not counted at all."""
    counts = {}
    for profile in profiles:
        if profile.capacity is None:
            continue
        counts[profile.user_id] = (
            Task.objects.filter(assignee_id=profile.user_id, status__in=Task.OPEN_STATUSES)
            .order_by()
            .values("id")[: profile.capacity]
            .count()
        )
    return counts


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
            return f"{person_name(user)} is deactivated"
        profile = self.profiles.get(user.pk)
        if profile is None:
            return None
        if profile.is_out_of_office(_local_today(profile, self.now)):
            until = profile.out_of_office_until
            return f"{person_name(user)} is out of office" + (
                f" until {date_text(until)}" if until else ""
            )
        open_now = self.open_counts.get(user.pk, 0)
        if profile.capacity is not None and open_now >= profile.capacity:
            return f"{person_name(user)} is at capacity ({open_now} open tasks)"
        return None

    def backup_of(self, user: Any) -> Any:
        profile = self.profiles.get(user.pk)
        return profile.backup if profile is not None else None


def _availability(users: list[Any], now: dt.datetime, *, exact: bool = False) -> _Availability:
    """Who of ``users`` (and their backups) can take work. ``exact`` counts everyone's
    open tasks; otherwise only people with a capacity are counted, up to it."""
    ids = {u.pk for u in users}
    profiles = _profiles(ids)
    backups = {p.backup_id for p in profiles.values() if p.backup_id}
    if backups - ids:
        profiles.update(_profiles(backups - ids))
    counts = _open_counts(ids | backups) if exact else _open_counts_to_capacity(profiles.values())
    return _Availability(profiles=profiles, open_counts=counts, now=now)


def _single_person(
    person: Any, label: str, now: dt.datetime, availability: _Availability | None = None
) -> tuple[Any, str]:
    """The task goes to ``person``; if they cannot take it, to their backup; else nobody.
    A shared ``availability`` (a batch of tasks) counts the tasks already given out."""
    if person is None:
        return None, f"Nobody is {label}; left unassigned for the queue to claim."
    availability = availability or _availability([person], now)
    problem = availability.problem(person)
    if problem is None:
        chosen, reason = person, f"Assigned to {label}, {person_name(person)}."
    else:
        backup = availability.backup_of(person)
        if backup is None or backup.pk == person.pk:
            return None, f"{problem} and has no backup; left unassigned for the queue to claim."
        if (backup_problem := availability.problem(backup)) is not None:
            return None, f"{problem} and their backup {backup_problem}; left unassigned."
        chosen, reason = backup, f"{problem}; given to their backup {person_name(backup)}."
    availability.open_counts[chosen.pk] = availability.open_counts.get(chosen.pk, 0) + 1
    return chosen, reason


# Strategies whose person comes from the account or the deal: a batch of tasks shares one
# availability lookup for all of them.
PERSONAL_STRATEGIES = {
    Strategy.ACCOUNT_CSM: "the account's CSM",
    Strategy.DEAL_OWNER: "the deal owner",
}


def assignees_pick_personal(
    *, picks: list[tuple[str, Any, Any]], now: dt.datetime
) -> list[tuple[Any, str]]:
    """``assignee_pick`` for many tasks whose strategy is the account's CSM or the deal
    owner: ``picks`` are (strategy, account, deal). Two queries however many, and one
    bounded count for each person with a capacity."""
    people = [
        getattr(account, "csm", None)
        if strategy == Strategy.ACCOUNT_CSM
        else getattr(deal, "owner", None)
        for strategy, account, deal in picks
    ]
    availability = _availability([p for p in people if p is not None], now)
    return [
        _single_person(person, PERSONAL_STRATEGIES[strategy], now, availability)
        for person, (strategy, _, _) in zip(people, picks, strict=True)
    ]


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
    availability = _availability(members, now, exact=strategy == Strategy.LEAST_OPEN)
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
            name=person_name(member),
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


def assignment_record(
    task: Task, *, actor: Any, reason: str, kind: str = Activity.ASSIGNED
) -> None:
    """Record an assignment (the task row is already updated) and announce it."""
    activity_record(task, kind, actor=actor, message=reason)
    event_emit(
        name="task.assigned" if kind == Activity.ASSIGNED else "task.claimed",
        aggregate=task,
        actor=actor,
        payload={
            "task_id": task.pk,
            "assignee_id": task.assignee_id,
            "reason": reason,
            "actor_id": getattr(person_or_none(actor), "pk", None),
            "queue_id": task.queue_id,
        },
    )


@transaction.atomic
def task_claim(*, task: Task, actor: Any) -> Task:
    """Take an unassigned open task. Of two people claiming at once, one gets it and the
    other a Conflict naming the winner."""
    require_open(task)
    if not selectors.user_can_work_queue(actor, task.queue, fresh=True):
        raise NotPermitted(f"Only members of {task.queue.name} can claim its tasks.")
    # The caller's copy may be stale either way, so the database decides who holds it.
    reason = f"Claimed by {person_name(actor)}."
    # The WHERE clause is the lock: only one UPDATE finds the task still unassigned.
    claimed = Task.objects.filter(
        pk=task.pk, assignee__isnull=True, status__in=Task.OPEN_STATUSES
    ).update(assignee=actor, assignment_reason=reason[:REASON_LENGTH], updated_at=clock.now())
    if not claimed:
        fresh = Task.objects.select_related("assignee").filter(pk=task.pk).first()
        if fresh is not None and fresh.is_open and fresh.assignee_id == actor.pk:
            return fresh  # already theirs
        if fresh is not None and fresh.is_open and fresh.assignee is not None:
            raise Conflict(f"This task is already claimed by {person_name(fresh.assignee)}.")
        raise conflict_after_race(task)
    task.assignee = actor
    task.assignment_reason = reason[:REASON_LENGTH]
    assignment_record(task, actor=actor, reason=reason, kind=Activity.CLAIMED)
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
    require_open(task)
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
            {"assignee": [f"{person_name(assignee)} does not work the {task.queue.name} queue."]},
        )
    if getattr(assignee, "pk", None) == task.assignee_id:
        return task
    why = reason.strip()
    if assignee is None:
        message = f"Unassigned by {person_name(actor)}" + (f": {why}" if why else ".")
    else:
        message = f"Assigned to {person_name(assignee)} by {person_name(actor)}" + (
            f": {why}" if why else "."
        )
    previous = task.assignee_id
    # Conditional on the assignee we saw, so a claim made meanwhile is not silently undone.
    updated = Task.objects.filter(
        pk=task.pk, assignee_id=previous, status__in=Task.OPEN_STATUSES
    ).update(assignee=assignee, assignment_reason=message[:REASON_LENGTH], updated_at=clock.now())
    if not updated:
        raise conflict_after_race(task)
    task.assignee = assignee
    task.assignment_reason = message[:REASON_LENGTH]
    assignment_record(task, actor=actor, reason=message)
    return task
