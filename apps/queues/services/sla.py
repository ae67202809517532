"""SLAs: deadlines in business hours of the team's calendar, and the periodic breach check."""

import datetime as dt
import logging

from django.db import transaction

from apps.core import clock
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
