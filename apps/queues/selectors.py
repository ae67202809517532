"""Task and queue reads: who sees what, work lists, SLA state and queue statistics.

Roles: superusers and the Admin group see and work everything. CS Managers and CSMs work
the queues they are members (or the manager) of, plus their own tasks; a CS Manager also
oversees those queues (reassigns, completes anyone's task). Everyone else, Sales Reps
included, sees only the tasks assigned to them.
"""

import datetime as dt
import zoneinfo
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, F, Q, QuerySet

from apps.core import clock
from apps.core.models import Profile
from apps.queues.models import Queue, Task

ROLE_ADMIN = "Admin"
ROLE_CS_MANAGER = "CS Manager"
ROLE_CSM = "CSM"
QUEUE_ROLES = (ROLE_CS_MANAGER, ROLE_CSM)

# An SLA is "due soon" in the last quarter of its window, and never less than its last hour.
DUE_SOON_FRACTION = 0.25
DUE_SOON_MINIMUM = dt.timedelta(hours=1)

LIST_RELATED = ("queue", "account", "deal", "assignee", "completed_by")

# The task list's SLA filter (pages and API): missed it, or has one and did not miss it.
SLA_FILTERS = [("breached", "SLA breached"), ("met", "SLA met")]


# Roles and scope ------------------------------------------------------------------------


def _role_names(user: Any) -> frozenset[str]:
    # Memoised on the user object like Django's own permission cache: one query a request.
    cached = getattr(user, "_afterwin_roles", None)
    if cached is None:
        cached = frozenset(user.groups.values_list("name", flat=True))
        user._afterwin_roles = cached
    return cached


def user_sees_all_tasks(user: Any) -> bool:
    if not getattr(user, "is_authenticated", False):
        return False
    return user.is_superuser or ROLE_ADMIN in _role_names(user)


def user_has_queue_role(user: Any) -> bool:
    return bool(getattr(user, "is_authenticated", False)) and bool(
        _role_names(user) & set(QUEUE_ROLES)
    )


@dataclass(frozen=True)
class QueueScope:
    """The queues a person works (member or manager) and those they oversee."""

    works: frozenset[int]
    oversees: frozenset[int]


def queue_scope(user: Any, *, fresh: bool = False) -> QueueScope:
    """The user's queues. Memoised on the user object for list pages; services pass
    ``fresh=True`` so a decision that writes is always made on current membership."""
    cached = getattr(user, "_afterwin_queue_scope", None)
    if cached is not None and not fresh:
        return cached
    works: set[int] = set()
    oversees: set[int] = set()
    if user_has_queue_role(user):
        is_manager_role = ROLE_CS_MANAGER in _role_names(user)
        rows = (
            Queue.objects.filter(Q(members=user) | Q(manager=user))
            .values_list("pk", "manager_id")
            .distinct()
        )
        for queue_id, manager_id in rows:
            works.add(queue_id)
            if manager_id == user.pk or is_manager_role:
                oversees.add(queue_id)
    scope = QueueScope(works=frozenset(works), oversees=frozenset(oversees))
    user._afterwin_queue_scope = scope
    return scope


def user_can_work_queue(user: Any, queue: Queue, *, fresh: bool = False) -> bool:
    """May ``user`` claim and be given tasks in ``queue``?"""
    if user_sees_all_tasks(user):
        return True
    return queue.pk in queue_scope(user, fresh=fresh).works


def user_oversees_queue(user: Any, queue: Queue, *, fresh: bool = False) -> bool:
    """May ``user`` reassign and act on anyone's task in ``queue``?"""
    if user_sees_all_tasks(user):
        return True
    return queue.pk in queue_scope(user, fresh=fresh).oversees


def user_can_work(user: Any, task: Task, *, fresh: bool = False) -> bool:
    """May ``user`` act on ``task`` (start, complete, skip, snooze, cancel)? Their own
    task, an unassigned task in a queue they work, or any task in a queue they oversee."""
    if not getattr(user, "is_authenticated", False) or not user.has_perm("queues.change_task"):
        return False
    if user_sees_all_tasks(user) or task.assignee_id == user.pk:
        return True
    scope = queue_scope(user, fresh=fresh)
    if task.queue_id in scope.oversees:
        return True
    return task.assignee_id is None and task.queue_id in scope.works


def tasks_visible_to(user: Any) -> QuerySet[Task]:
    """Tasks ``user`` may see (see the module docstring for the rules)."""
    tasks = Task.objects.select_related(*LIST_RELATED)
    if not getattr(user, "is_authenticated", False):
        return tasks.none()
    if user_sees_all_tasks(user):
        return tasks
    if not user_has_queue_role(user):
        return tasks.filter(assignee=user)
    # A subquery rather than a join on the members table, so no task appears twice.
    their_queues = Queue.objects.filter(Q(members=user) | Q(manager=user)).values("pk")
    return tasks.filter(Q(assignee=user) | Q(queue__in=their_queues))


def queues_visible_to(user: Any) -> QuerySet[Queue]:
    """Queues ``user`` may see: all for admins, their own for CSMs and CS managers."""
    queues = Queue.objects.select_related("manager")
    if not getattr(user, "is_authenticated", False):
        return queues.none()
    if user_sees_all_tasks(user):
        return queues
    if not user_has_queue_role(user):
        return queues.none()
    return queues.filter(
        pk__in=Queue.objects.filter(Q(members=user) | Q(manager=user)).values("pk")
    )


def open_task_count(user: Any) -> int:
    """How many open tasks are assigned to ``user`` (the top bar's My work count)."""
    return Task.objects.filter(assignee=user, status__in=Task.OPEN_STATUSES).count()


def queue_list_with_open_counts(*, user: Any = None) -> QuerySet[Queue]:
    queues = Queue.objects.all() if user is None else queues_visible_to(user)
    # Meta.ordering is dropped from aggregating queries, so the order is stated here.
    return queues.annotate(
        open_task_count=Count("tasks", filter=Q(tasks__status__in=Task.OPEN_STATUSES))
    ).order_by("name", "id")


# Time in the user's zone ----------------------------------------------------------------


def user_timezone(user: Any) -> zoneinfo.ZoneInfo:
    name = (
        Profile.objects.filter(user_id=getattr(user, "pk", None))
        .values_list("timezone", flat=True)
        .first()
    )
    try:
        return zoneinfo.ZoneInfo(name or "UTC")
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo("UTC")


def _day_bounds(now: dt.datetime, tz: zoneinfo.ZoneInfo) -> tuple[dt.datetime, dt.datetime]:
    day = now.astimezone(tz).date()
    start = dt.datetime.combine(day, dt.time.min, tzinfo=tz)
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time.min, tzinfo=tz)
    return start, end


def _week_bounds(now: dt.datetime, tz: zoneinfo.ZoneInfo) -> tuple[dt.datetime, dt.datetime]:
    day = now.astimezone(tz).date()
    monday = day - dt.timedelta(days=day.weekday())
    start = dt.datetime.combine(monday, dt.time.min, tzinfo=tz)
    end = dt.datetime.combine(monday + dt.timedelta(days=7), dt.time.min, tzinfo=tz)
    return start, end


def iso_week_bounds(week: str, tz: dt.tzinfo) -> tuple[dt.datetime, dt.datetime] | None:
    """Monday 00:00 to the next Monday 00:00 in ``tz`` of an ISO week such as "2026-W48"
    (what a week input sends); None for anything else."""
    year, _, number = week.partition("-W")
    if not (year.isdecimal() and number.isdecimal()):
        return None
    try:
        monday = dt.date.fromisocalendar(int(year), int(number), 1)
    except ValueError:
        return None
    start = dt.datetime.combine(monday, dt.time.min, tzinfo=tz)
    return start, dt.datetime.combine(monday + dt.timedelta(days=7), dt.time.min, tzinfo=tz)


def iso_week(moment: dt.datetime | dt.date) -> str:
    """The ISO week of a day or moment, as a week input writes it ("2026-W48")."""
    year, number, _ = moment.isocalendar()
    return f"{year}-W{number:02d}"


def sla_breached(now: dt.datetime) -> Q:
    """Tasks whose SLA was missed: marked breached, still open past it, or finished after
    it (the periodic check may not have marked a task finished late)."""
    return (
        Q(sla_breached_at__isnull=False)
        | Q(status__in=Task.OPEN_STATUSES, sla_due_at__lte=now)
        | Q(sla_due_at__lt=F("completed_at"))
    )


def _not_snoozed(now: dt.datetime) -> Q:
    return Q(snoozed_until__isnull=True) | Q(snoozed_until__lte=now)


def _ordered(tasks: QuerySet[Task]) -> QuerySet[Task]:
    return tasks.order_by("priority", F("due_at").asc(nulls_last=True), "id")


# Lists ----------------------------------------------------------------------------------


def _values(filters: Any, key: str) -> list[str]:
    """A filter's values, whether ``filters`` is a QueryDict, a dict of lists or scalars."""
    if hasattr(filters, "getlist"):
        raw: Iterable[Any] = filters.getlist(key)
    else:
        value = filters.get(key)
        raw = value if isinstance(value, list | tuple | set | frozenset) else [value]
    values = []
    for item in raw:
        if item is None or item == "":
            continue
        values.append(str(getattr(item, "pk", item)).strip())
    return values


def _ids(values: list[str]) -> list[int]:
    return [int(v) for v in values if v.isdecimal()]


def task_list(*, user: Any, filters: Any) -> QuerySet[Task]:
    """The tasks ``user`` may see, filtered and sorted by priority, then due date.

    Filters (each optional; unknown or malformed values are ignored, the API validates
    them first): ``queue`` (id or slug), ``assignee`` (id, "me" or "none"), ``priority``,
    ``kind``, ``status`` (several allowed), ``account``, ``deal``, ``due`` ("overdue",
    "today", "week", in the user's time zone), ``sla`` ("breached", or "met": has an SLA
    and did not miss it), ``completed_by`` (ids or "me"), ``completed_week`` (an ISO week such as
    "2026-W48", in the user's time zone), ``search`` (title, account, deal), and
    ``snoozed``: by default a snoozed task is hidden until it returns; "include" shows
    it as well, "only" shows only snoozed tasks.
    """
    now = clock.now()
    tasks = tasks_visible_to(user)
    if queues := _values(filters, "queue"):
        tasks = tasks.filter(Q(queue_id__in=_ids(queues)) | Q(queue__slug__in=queues))
    if assignees := _values(filters, "assignee"):
        condition = Q(assignee_id__in=_ids(assignees))
        if "me" in assignees:
            condition |= Q(assignee_id=getattr(user, "pk", None))
        if "none" in assignees:
            condition |= Q(assignee__isnull=True)
        tasks = tasks.filter(condition)
    mine = _values(filters, "mine")
    if mine and mine[0].lower() in ("1", "true", "yes"):
        tasks = tasks.filter(assignee_id=getattr(user, "pk", None))
    if priorities := _values(filters, "priority"):
        tasks = tasks.filter(priority__in=_ids(priorities))
    if kinds := _values(filters, "kind"):
        tasks = tasks.filter(kind__in=kinds)
    if statuses := _values(filters, "status"):
        tasks = tasks.filter(status__in=statuses)
    if accounts := _values(filters, "account"):
        tasks = tasks.filter(account_id__in=_ids(accounts))
    if deals := _values(filters, "deal"):
        tasks = tasks.filter(deal_id__in=_ids(deals))
    due = (_values(filters, "due") or [""])[0]
    weeks = _values(filters, "completed_week")
    # Read once, and only when a filter needs it: a list runs a fixed number of queries.
    zone = user_timezone(user) if due in ("today", "week") or weeks else None
    if due:
        tasks = _filter_due(tasks, due, zone=zone, now=now)
    if sla := _values(filters, "sla"):
        if sla[0] == "breached":
            tasks = tasks.filter(sla_breached(now))
        elif sla[0] == "met":
            tasks = tasks.filter(sla_due_at__isnull=False).exclude(sla_breached(now))
    if people := _values(filters, "completed_by"):
        condition = Q(completed_by_id__in=_ids(people))
        if "me" in people:
            condition |= Q(completed_by_id=getattr(user, "pk", None))
        tasks = tasks.filter(condition)
    if weeks and (bounds := iso_week_bounds(weeks[0], zone)):
        tasks = tasks.filter(completed_at__gte=bounds[0], completed_at__lt=bounds[1])
    if search := " ".join(_values(filters, "search")):
        tasks = tasks.filter(
            Q(title__icontains=search)
            | Q(account__name__icontains=search)
            | Q(deal__name__icontains=search)
        )
    snoozed = (_values(filters, "snoozed") or ["hide"])[0]
    if snoozed == "only":
        tasks = tasks.filter(snoozed_until__gt=now)
    elif snoozed != "include":
        tasks = tasks.filter(_not_snoozed(now))
    return _ordered(tasks)


def _filter_due(
    tasks: QuerySet[Task], due: str, *, zone: zoneinfo.ZoneInfo | None, now: dt.datetime
):
    if due == "overdue":
        return tasks.filter(status__in=Task.OPEN_STATUSES, due_at__lt=now)
    if due == "today" and zone:
        start, end = _day_bounds(now, zone)
        return tasks.filter(due_at__gte=start, due_at__lt=end)
    if due == "week" and zone:
        start, end = _week_bounds(now, zone)
        return tasks.filter(due_at__gte=start, due_at__lt=end)
    return tasks


def my_work(*, user: Any, now: dt.datetime) -> dict[str, QuerySet[Task]]:
    """The user's open tasks in four buckets: ``overdue``, due ``today`` (the user's
    local day), ``upcoming`` (later, or no due date) and ``snoozed``. A snoozed task is
    only in ``snoozed`` until its snooze ends, then it is back in its bucket."""
    mine = Task.objects.select_related(*LIST_RELATED).filter(
        assignee_id=getattr(user, "pk", None), status__in=Task.OPEN_STATUSES
    )
    active = mine.filter(_not_snoozed(now))
    _, end_of_today = _day_bounds(now, user_timezone(user))
    return {
        "overdue": _ordered(active.filter(due_at__lt=now)),
        "today": _ordered(active.filter(due_at__gte=now, due_at__lt=end_of_today)),
        "upcoming": _ordered(active.filter(Q(due_at__gte=end_of_today) | Q(due_at__isnull=True))),
        "snoozed": mine.filter(snoozed_until__gt=now).order_by("snoozed_until", "id"),
    }


def sla_state(task: Task, now: dt.datetime) -> str:
    """One of "on_track", "due_soon", "breached" or "none" (no SLA, or finished within
    it). A task is due soon in the last quarter of its SLA window, or its last hour."""
    if task.sla_due_at is None:
        return "none"
    if task.sla_breached_at is not None:
        return "breached"
    if not task.is_open:
        return "none"
    left = task.sla_due_at - now
    if left <= dt.timedelta(0):
        return "breached"
    window = task.sla_due_at - task.created_at
    if left <= max(DUE_SOON_MINIMUM, window * DUE_SOON_FRACTION):
        return "due_soon"
    return "on_track"


# Statistics -----------------------------------------------------------------------------


def _counts(now: dt.datetime, week_start: dt.datetime, prefix: str = "") -> dict[str, Count]:
    p = prefix
    is_open = Q(**{f"{p}status__in": Task.OPEN_STATUSES})
    return {
        "open": Count(f"{p}id", filter=is_open),
        "overdue": Count(f"{p}id", filter=is_open & Q(**{f"{p}due_at__lt": now})),
        "breached": Count(
            f"{p}id",
            filter=is_open
            & (Q(**{f"{p}sla_breached_at__isnull": False}) | Q(**{f"{p}sla_due_at__lte": now})),
        ),
        "done_this_week": Count(
            f"{p}id",
            filter=Q(**{f"{p}status": Task.Status.DONE, f"{p}completed_at__gte": week_start}),
        ),
    }


def queue_stats(*, user: Any, now: dt.datetime) -> dict[str, list[dict[str, Any]]]:
    """Open, overdue, SLA-breached and done-this-week counts for each queue the user
    sees and for each person with tasks in them. The week starts on Monday in the
    user's time zone; done work counts for whoever completed it."""
    week_start, _ = _week_bounds(now, user_timezone(user))
    queues = [
        {
            "id": row["pk"],
            "name": row["name"],
            "slug": row["slug"],
            **{k: row[k] for k in ("open", "overdue", "breached", "done_this_week")},
        }
        for row in queues_visible_to(user)
        .order_by()
        .values("pk", "name", "slug")
        .annotate(**_counts(now, week_start, prefix="tasks__"))
        .order_by("name", "pk")
    ]
    tasks = tasks_visible_to(user).select_related(None).order_by()
    people: dict[int, dict[str, Any]] = {}

    def person(user_id: int, username: str, first: str, last: str) -> dict[str, Any]:
        return people.setdefault(
            user_id,
            {
                "id": user_id,
                "username": username,
                "name": f"{first} {last}".strip() or username,
                "open": 0,
                "overdue": 0,
                "breached": 0,
                "done_this_week": 0,
            },
        )

    counts = _counts(now, week_start)
    open_work = (
        tasks.filter(assignee__isnull=False, status__in=Task.OPEN_STATUSES)
        .values("assignee_id", "assignee__username", "assignee__first_name", "assignee__last_name")
        .annotate(open=counts["open"], overdue=counts["overdue"], breached=counts["breached"])
    )
    for row in open_work:
        entry = person(
            row["assignee_id"],
            row["assignee__username"],
            row["assignee__first_name"],
            row["assignee__last_name"],
        )
        entry.update(open=row["open"], overdue=row["overdue"], breached=row["breached"])
    done = (
        tasks.filter(
            completed_by__isnull=False, status=Task.Status.DONE, completed_at__gte=week_start
        )
        .values(
            "completed_by_id",
            "completed_by__username",
            "completed_by__first_name",
            "completed_by__last_name",
        )
        .annotate(done=Count("id"))
    )
    for row in done:
        person(
            row["completed_by_id"],
            row["completed_by__username"],
            row["completed_by__first_name"],
            row["completed_by__last_name"],
        )["done_this_week"] = row["done"]
    return {
        "queues": queues,
        "people": sorted(people.values(), key=lambda p: (p["name"].lower(), p["id"])),
    }


def task_activities(*, task: Task, newest_first: bool = False) -> QuerySet:
    order = ("-created_at", "-id") if newest_first else ("created_at", "id")
    return task.activities.select_related("actor").order_by(*order)
