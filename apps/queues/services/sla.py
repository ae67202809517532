"""SLAs: deadlines in business hours of the team's calendar, and the periodic breach check."""

import datetime as dt
import logging

from django.db import transaction
from django.utils import timezone

from apps.core import clock
from apps.core.dates import datetime_text
from apps.core.events import event_emit
from apps.engine.timing import Calendar
from apps.queues.models import BUSINESS_DAY_END, BUSINESS_DAY_START, Queue, Task, TaskActivity
from apps.queues.services.activity import activity_record

logger = logging.getLogger(__name__)

Activity = TaskActivity.Kind

SLA_CHECK_BATCH = 500


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


def business_hours_between(
    *, start: dt.datetime, end: dt.datetime, calendar: Calendar
) -> dt.timedelta:
    """The working time (09:00–17:00 on the calendar's business days) from ``start`` to
    ``end``; nothing if ``end`` is not later."""
    total = dt.timedelta()
    start, end = start.astimezone(dt.UTC), end.astimezone(dt.UTC)
    day = start.astimezone(calendar.tz).date()
    while start < end:
        if calendar.is_business_day(day):
            opens = calendar.localize(day, BUSINESS_DAY_START).astimezone(dt.UTC)
            closes = calendar.localize(day, BUSINESS_DAY_END).astimezone(dt.UTC)
            total += max(dt.timedelta(), min(closes, end) - max(opens, start))
        day += dt.timedelta(days=1)
        start = max(start, calendar.localize(day, dt.time(0, 0)).astimezone(dt.UTC))
    return total


def sla_due_at_after_snooze(
    *, task: Task, now: dt.datetime, until: dt.datetime
) -> dt.datetime | None:
    """The task's SLA deadline once it is snoozed until ``until``: in a queue that pauses
    the SLA while a task is snoozed, the working time left when the clock stops is counted
    again from ``until``. A task still snoozed stopped its clock already, so a new snooze
    counts from the moment the clock would have restarted. Unchanged otherwise (no SLA,
    already breached, a queue whose clock runs on)."""
    if (
        task.sla_due_at is None
        or task.sla_breached_at is not None
        or not task.queue.pause_sla_while_snoozed
    ):
        return task.sla_due_at
    calendar = queue_calendar(task.queue)
    stopped = task.snoozed_until if task.is_snoozed(now) else now
    left = business_hours_between(start=stopped, end=task.sla_due_at, calendar=calendar)
    return business_hours_after(start=until, hours=left / dt.timedelta(hours=1), calendar=calendar)


def snooze_warnings(*, task: Task, until: dt.datetime) -> list[str]:
    """What snoozing ``task`` until ``until`` costs, in the viewer's time zone: coming back
    after it is due, or after its SLA deadline while the queue's clock runs on. Allowed
    all the same; the person is told."""
    warnings = []
    if task.due_at is not None and until > task.due_at:
        when = datetime_text(timezone.localtime(task.due_at))
        warnings.append(f"It comes back after it is due ({when}): it will be overdue.")
    if (
        task.sla_due_at is not None
        and task.sla_breached_at is None
        and until > task.sla_due_at
        and not task.queue.pause_sla_while_snoozed
    ):
        when = datetime_text(timezone.localtime(task.sla_due_at))
        warnings.append(
            f"Its SLA deadline ({when}) passes while it is snoozed: the SLA will be breached."
        )
    return warnings


def sla_due_at_for(
    *, queue: Queue, start: dt.datetime, sla_hours: float | None = None
) -> dt.datetime | None:
    hours = sla_hours if sla_hours is not None else queue.sla_hours
    if not hours:
        return None
    return business_hours_after(start=start, hours=hours, calendar=queue_calendar(queue))


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
    activity_record(
        task,
        Activity.SLA_BREACHED,
        message=f"SLA deadline {task.sla_due_at:%Y-%m-%d %H:%M} UTC passed.",
    )
    raised = task.queue.raise_priority_on_breach and task.priority > Task.Priority.P1
    if raised:
        before = task.priority
        task.priority = before - 1
        Task.objects.filter(pk=task_id).update(priority=task.priority)
        activity_record(
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
