"""Telling people about their tasks: assigned, due soon, overdue, SLA breached, and the
daily digest.

Event handlers run inside the event's processing transaction; periodic jobs run every few
minutes. Both are safe to repeat: every reminder has a dedupe key (one per task, reason
and assignee), and the digest one per person and local day.
"""

import datetime as dt
import logging
from collections import defaultdict
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import CharField, Exists, OuterRef, Q, QuerySet, Value
from django.db.models.functions import Cast, Concat
from django.urls import NoReverseMatch, reverse

from apps.core.links import absolute_url
from apps.core.models import DomainEvent, Profile
from apps.notifications.models import EmailMessage, Notification, SilencedNotice
from apps.notifications.selectors import profile_or_defaults
from apps.notifications.services import (
    Notice,
    email_queue,
    email_render,
    email_withdraw,
    notify_many,
)
from apps.queues.models import Task

logger = logging.getLogger(__name__)

Reason = Notification.Reason

# The dedupe key's middle part per reason: ``task:42:overdue:7``.
KEY_WORDS = {
    Reason.TASK_ASSIGNED: "assigned",
    Reason.TASK_DUE_SOON: "due_soon",
    Reason.TASK_OVERDUE: "overdue",
    Reason.SLA_BREACHED: "sla_breached",
}
# Without a configured lead time, the due-soon reminder comes at the start of a working
# day, which is never more than two days before the due time.
DUE_SOON_HORIZON = dt.timedelta(hours=48)
REMINDER_BATCH = 500
# "This week" reaches next Monday in the person's zone: at most 8 days ahead of now.
DIGEST_HORIZON = dt.timedelta(days=8)

_USER_PROFILE = ("profile", "profile__backup", "profile__backup__profile")


def task_reminder_key(*, task_id: int, reason: str, user_id: int) -> str:
    return f"task:{task_id}:{KEY_WORDS[reason]}:{user_id}"


def digest_key(*, user_id: int, day: dt.date) -> str:
    return f"digest:{user_id}:{day.isoformat()}"


def _zone(profile: Profile) -> ZoneInfo:
    return ZoneInfo(profile.timezone or "UTC")


def local_time(moment: dt.datetime, profile: Profile) -> dt.datetime:
    return moment.astimezone(_zone(profile))


def due_soon_lead() -> dt.timedelta | None:
    """The configured lead time, or None for "from the start of the working day"."""
    minutes = getattr(settings, "NOTIFICATIONS_DUE_SOON_LEAD_MINUTES", None)
    return None if minutes is None else dt.timedelta(minutes=int(minutes))


def due_soon_from(
    *, due_at: dt.datetime, profile: Profile, lead: dt.timedelta | None = None
) -> dt.datetime:
    """When the due-soon reminder for a task due at ``due_at`` may go out: ``lead``
    before it, or else at the start of the assignee's working day on the due date (the
    day before when the task is due before work starts)."""
    if lead is not None:
        return due_at - lead
    zone = _zone(profile)
    due_local = due_at.astimezone(zone)
    start = dt.datetime.combine(due_local.date(), profile.work_start, tzinfo=zone)
    if start >= due_local:
        start = dt.datetime.combine(
            due_local.date() - dt.timedelta(days=1), profile.work_start, tzinfo=zone
        )
    return start


def reminder_recipient(user: Any, *, at: dt.datetime) -> Any:
    """Who gets a reminder meant for ``user``: their backup while they are out of office
    (unless the backup is away too), else ``user``."""
    profile = profile_or_defaults(user)
    if profile.backup_id is None or not profile.is_out_of_office(local_time(at, profile).date()):
        return user
    backup = profile.backup
    backup_profile = profile_or_defaults(backup)
    if not backup.is_active or backup_profile.is_out_of_office(
        local_time(at, backup_profile).date()
    ):
        return user
    return backup


def _url(name: str, *args: Any) -> str:
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return ""


def task_url(task: Task) -> str:
    """The task's page in the CS web UI."""
    return _url("queues:task_detail", task.pk)


def _when(moment: dt.datetime, profile: Profile) -> str:
    local = local_time(moment, profile)
    return f"{local:%a %d %b %Y, %H:%M} ({profile.timezone})"


def _tasks_with_people() -> QuerySet[Task]:
    return Task.objects.select_related(
        "queue",
        "account",
        "deal",
        *(f"assignee__{path}" for path in _USER_PROFILE),
        *(f"queue__manager__{path}" for path in _USER_PROFILE),
    )


def _open_task(task_id: Any) -> Task | None:
    if not task_id:
        return None
    return _tasks_with_people().filter(pk=task_id, status__in=Task.OPEN_STATUSES).first()


_TITLES = {
    Reason.TASK_ASSIGNED: "New task for you: {title}",
    Reason.TASK_DUE_SOON: "Due soon: {title}",
    Reason.TASK_OVERDUE: "Overdue: {title}",
    Reason.SLA_BREACHED: "SLA breached: {title}",
}


def task_notice(
    *,
    task: Task,
    reason: str,
    about: Any,
    at: dt.datetime,
    note: str = "",
    covered: bool = True,
) -> Notice:
    """The notice telling ``about`` about ``task`` for ``reason``; with ``covered``,
    telling their backup instead while they are out of office."""
    recipient = reminder_recipient(about, at=at) if covered else about
    profile = profile_or_defaults(recipient)
    covering_for = about if recipient.pk != about.pk else None
    title = _TITLES[reason].format(title=task.title)
    if covering_for is not None:
        title = f"Covering for {about.get_full_name() or about.get_username()}: {title}"
    facts = {
        "account": task.account.name if task.account_id else "",
        "queue": task.queue.name,
        "priority": task.get_priority_display(),
        "due": _when(task.due_at, profile) if task.due_at else "",
        "sla_due": _when(task.sla_due_at, profile) if task.sla_due_at else "",
    }
    lines = [
        " · ".join(part for part in (facts["account"], facts["queue"]) if part),
        f"Due {facts['due']}" if facts["due"] else "",
        note,
    ]
    return Notice(
        recipient=recipient,
        reason=reason,
        title=title,
        body="\n".join(line for line in lines if line),
        url=task_url(task),
        dedupe_key=task_reminder_key(task_id=task.pk, reason=reason, user_id=about.pk),
        context={"task": task, "facts": facts, "note": note, "covering_for": covering_for},
        account=task.account,
        deal=task.deal,
    )


def task_notify(**about_task: Any) -> bool:
    """Give one ``task_notice``, once. Returns True if anything new was written."""
    [notified] = notify_many(notices=[task_notice(**about_task)])
    return notified.created


# Event subscribers ---------------------------------------------------------------------


def _assigned_notice(event: DomainEvent, task: Task | None) -> Notice | None:
    """``task.assigned``: tell the new assignee, unless they took the task themselves."""
    if task is None or task.assignee_id is None:
        return None
    # Reassigned again since this event: the newer event tells the newer assignee.
    if task.assignee_id != event.payload.get("assignee_id"):
        return None
    if event.actor_id == task.assignee_id:
        return None
    return task_notice(
        task=task,
        reason=Reason.TASK_ASSIGNED,
        about=task.assignee,
        at=event.occurred_at,
        note=str(event.payload.get("reason") or ""),
        # The task is theirs even while they are away; reminders about it reach the backup.
        covered=False,
    )


def task_assigned_notify(event: DomainEvent) -> None:
    task_assigned_notify_many([event])


def task_assigned_notify_many(events: list[DomainEvent]) -> None:
    """``task.assigned`` for many events: one read of their tasks, one ``notify_many``."""
    ids = {int(task_id) for event in events if (task_id := event.payload.get("task_id"))}
    tasks = _tasks_with_people().filter(status__in=Task.OPEN_STATUSES).in_bulk(ids)
    notices = [
        notice
        for event in events
        if (notice := _assigned_notice(event, tasks.get(int(event.payload.get("task_id") or 0))))
    ]
    if notices:
        notify_many(notices=notices)


def task_sla_breached_notify(event: DomainEvent) -> None:
    """``task.sla_breached``: tell the assignee and the queue's manager, once each.
    Who they are is read from the task now, so a reassignment since the breach counts."""
    task = _open_task(event.payload.get("task_id"))
    if task is None:
        return
    told: set[int] = set()
    for person in (task.assignee, task.queue.manager):
        if person is None or person.pk in told:
            continue
        told.add(person.pk)
        task_notify(task=task, reason=Reason.SLA_BREACHED, about=person, at=event.occurred_at)


def task_reminder_emails_withdraw(event: DomainEvent) -> None:
    """A finished task's reminder emails that are still unsent are not sent."""
    task_id = event.payload.get("task_id") or event.aggregate_id
    # The status filter narrows to the small unsent part of the outbox first.
    unsent = EmailMessage.objects.filter(
        status__in=[
            EmailMessage.Status.QUEUED,
            EmailMessage.Status.FAILED,
            EmailMessage.Status.SENDING,
        ],
        idempotency_key__startswith=f"task:{task_id}:",
    )
    for email in unsent:
        email_withdraw(email=email, reason=f"The task was {event.name.split('.')[-1]}.")


# Periodic: due soon and overdue --------------------------------------------------------


def _remindable(now: dt.datetime) -> QuerySet[Task]:
    """Open tasks someone active is assigned to, with a due date, not snoozed."""
    return _tasks_with_people().filter(
        Q(snoozed_until__isnull=True) | Q(snoozed_until__lte=now),
        status__in=Task.OPEN_STATUSES,
        assignee__is_active=True,
        due_at__isnull=False,
    )


def _not_reminded(tasks: QuerySet[Task], reason: str) -> QuerySet[Task]:
    """Leave out tasks whose reminder for ``reason`` exists in the app or the outbox,
    checked in SQL so that old overdue tasks cost one index probe each."""
    key = Concat(
        Value("task:"),
        Cast("id", CharField()),
        Value(f":{KEY_WORDS[reason]}:"),
        Cast("assignee_id", CharField()),
        output_field=CharField(),
    )
    emailed = EmailMessage.objects.filter(
        idempotency_key=Concat(OuterRef("reminder_key"), Value(":email"), output_field=CharField())
    )
    return tasks.alias(reminder_key=key).filter(
        ~Exists(Notification.objects.filter(dedupe_key=OuterRef("reminder_key"))),
        ~Exists(emailed),
        ~Exists(SilencedNotice.objects.filter(dedupe_key=OuterRef("reminder_key"))),
    )


def _remind(task: Task, reason: str, now: dt.datetime) -> int:
    try:
        return int(task_notify(task=task, reason=reason, about=task.assignee, at=now))
    except Exception:
        # One bad row must not hold back everyone else's reminders; the next run retries.
        logger.exception("could not send the %s reminder for task %s", reason, task.pk)
        return 0


def task_reminders_send(*, now: dt.datetime) -> int:
    """Send the due-soon and overdue reminders that are due at ``now``, once per task,
    reason and assignee. Returns how many were sent."""
    lead = due_soon_lead()
    sent = 0
    due_soon_tasks = _remindable(now).filter(
        due_at__gt=now, due_at__lte=now + (lead or DUE_SOON_HORIZON)
    )
    due_soon = _not_reminded(due_soon_tasks, Reason.TASK_DUE_SOON).order_by("due_at", "id")
    for task in due_soon[:REMINDER_BATCH]:
        starts = due_soon_from(
            due_at=task.due_at, profile=profile_or_defaults(task.assignee), lead=lead
        )
        # A task created inside its due-soon window was just announced as assigned.
        if starts <= now and task.created_at < starts:
            sent += _remind(task, Reason.TASK_DUE_SOON, now)
    overdue_tasks = _remindable(now).filter(due_at__lte=now)
    overdue = _not_reminded(overdue_tasks, Reason.TASK_OVERDUE).order_by("due_at", "id")
    for task in overdue[:REMINDER_BATCH]:
        sent += _remind(task, Reason.TASK_OVERDUE, now)
    return sent


# Periodic: the daily digest ------------------------------------------------------------


def _digest_due_users(now: dt.datetime, user_ids: list[int]) -> dict[int, tuple[Any, str]]:
    """Of ``user_ids``, those whose digest time has passed today in their zone and who are
    at work and have not had today's digest: ``{user_id: (user, dedupe key)}``."""
    users = (
        get_user_model()
        .objects.filter(pk__in=user_ids, is_active=True)
        .exclude(email="")
        .select_related("profile")
    )
    due: dict[int, tuple[Any, str]] = {}
    for user in users:
        profile = profile_or_defaults(user)
        local_now = local_time(now, profile)
        if profile.digest_time is None or local_now.time() < profile.digest_time:
            continue
        if profile.is_out_of_office(local_now.date()):
            continue
        due[user.pk] = (user, digest_key(user_id=user.pk, day=local_now.date()))
    sent = set(
        EmailMessage.objects.filter(
            idempotency_key__in=[key for _, key in due.values()]
        ).values_list("idempotency_key", flat=True)
    )
    return {pk: (user, key) for pk, (user, key) in due.items() if key not in sent}


def _digest_sections(
    tasks: list[Task], *, now: dt.datetime, profile: Profile
) -> dict[str, list[dict[str, Any]]]:
    zone = _zone(profile)
    today = local_time(now, profile).date()
    tomorrow = dt.datetime.combine(today + dt.timedelta(days=1), dt.time(0), tzinfo=zone)
    next_monday = dt.datetime.combine(
        today + dt.timedelta(days=7 - today.weekday()), dt.time(0), tzinfo=zone
    )
    sections: dict[str, list[dict[str, Any]]] = {"overdue": [], "today": [], "this_week": []}
    for task in tasks:
        if task.due_at < now:
            section = "overdue"
        elif task.due_at < tomorrow:
            section = "today"
        elif task.due_at < next_monday:
            section = "this_week"
        else:
            continue
        sections[section].append(
            {
                "task": task,
                "due": _when(task.due_at, profile),
                "url": absolute_url(task_url(task)),
            }
        )
    return sections


def _digest_send(*, user: Any, key: str, tasks: list[Task], now: dt.datetime) -> bool:
    profile = profile_or_defaults(user)
    sections = _digest_sections(tasks, now=now, profile=profile)
    if not any(sections.values()):
        return False
    day = local_time(now, profile).date()
    counts = [
        f"{len(sections['overdue'])} overdue",
        f"{len(sections['today'])} due today",
        f"{len(sections['this_week'])} later this week",
    ]
    subject = f"Your tasks for {day:%a %d %b}: {', '.join(counts)}"
    text, html = email_render(
        template="notifications/email/digest",
        context={
            "recipient": user,
            "title": subject,
            "day": day,
            "url": absolute_url(_url("queues:my_work")),
            "sections": [
                ("Overdue", sections["overdue"]),
                ("Due today", sections["today"]),
                ("Later this week", sections["this_week"]),
            ],
        },
    )
    email_queue(
        to_email=user.email,
        to_name=user.get_full_name(),
        subject=subject,
        body_text=text,
        body_html=html,
        idempotency_key=key,
        recipient=user,
    )
    return True


def digests_send(*, now: dt.datetime) -> int:
    """Email each person whose digest time has passed today (in their zone) the list of
    their open tasks: overdue, due today and due later this week. Once per person and
    local day; nothing when the lists are empty, the digest is off or they are away.
    Returns how many digests were queued."""
    candidates = (
        _remindable(now)
        .filter(due_at__lt=now + DIGEST_HORIZON)
        .order_by()
        .values_list("assignee_id", flat=True)
        .distinct()
    )
    due = _digest_due_users(now, list(candidates))
    if not due:
        return 0
    tasks_by_user: dict[int, list[Task]] = defaultdict(list)
    for task in (
        _remindable(now)
        .filter(assignee_id__in=list(due), due_at__lt=now + DIGEST_HORIZON)
        .order_by("due_at", "priority", "id")
    ):
        tasks_by_user[task.assignee_id].append(task)
    sent = 0
    for user_id, (user, key) in due.items():
        try:
            sent += _digest_send(user=user, key=key, tasks=tasks_by_user[user_id], now=now)
        except Exception:
            logger.exception("could not queue the digest for user %s", user_id)
    return sent
