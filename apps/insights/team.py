"""The team dashboard's reads: a CS manager's queues and the people who work them. Each
block is one or two grouped queries whatever the number of tasks; the queues' own
statistics (``queues.selectors.queue_stats``) give open, overdue and SLA-breached work.

Weeks start on Monday in the viewer's time zone, as in the queue statistics and the task
list's ``completed_week`` filter, so a figure and the list behind it count the same
tasks.
"""

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.contrib.auth import get_user_model
from django.db.models import Count, Max, OuterRef, Q, Subquery
from django.db.models.functions import TruncWeek

from apps.core.models import Profile
from apps.customers.models import Account, AccountLifecycleChange
from apps.deals.models import Stage
from apps.health.models import AccountHealth, Band
from apps.queues.models import Task
from apps.queues.selectors import (
    iso_week,
    queue_stats,
    queues_visible_to,
    sla_breached,
    tasks_visible_to,
    user_timezone,
)
from apps.surveys.models import Kind, Response

WEEKS_SHOWN = 4
ONBOARDINGS_SHOWN = 50


def _monday(now: dt.datetime, zone: Any) -> dt.datetime:
    day = now.astimezone(zone).date()
    return dt.datetime.combine(day - dt.timedelta(days=day.weekday()), dt.time.min, tzinfo=zone)


def _name(first: str, last: str, username: str) -> str:
    return f"{first} {last}".strip() or username


def sla_compliance(*, user: Any, now: dt.datetime, zone: ZoneInfo) -> dict[str, Any]:
    """Of the tasks with an SLA completed this week and last (in the queues ``user``
    sees; weeks in ``zone``), how many were finished within it: per queue and in total.
    One query."""
    this_week = _monday(now, zone)
    last_week = this_week - dt.timedelta(days=7)
    missed = sla_breached(now)
    weeks = {"this": Q(completed_at__gte=this_week), "last": Q(completed_at__lt=this_week)}
    figures = {}
    for key, when in weeks.items():
        figures[f"{key}_total"] = Count("id", filter=when)
        figures[f"{key}_met"] = Count("id", filter=when & ~missed)
    rows = (
        tasks_visible_to(user)
        .select_related(None)
        .filter(status=Task.Status.DONE, sla_due_at__isnull=False, completed_at__gte=last_week)
        .values("queue_id", "queue__name", "queue__slug")
        .annotate(**figures)
        .order_by("queue__name", "queue_id")
    )
    queues = []
    total = {key: 0 for key in figures}
    for row in rows:
        for key in figures:
            total[key] += row[key]
        queues.append({"name": row["queue__name"], "slug": row["queue__slug"], **_rates(row)})
    return {
        "this_week": iso_week(this_week),
        "last_week": iso_week(last_week),
        "queues": queues,
        "total": _rates(total),
    }


def _rates(row: dict[str, Any]) -> dict[str, Any]:
    result = {}
    for key in ("this", "last"):
        met, count = row[f"{key}_met"], row[f"{key}_total"]
        result[key] = {
            "met": met,
            "missed": count - met,
            "total": count,
            "rate": round(100 * met / count, 1) if count else None,
        }
    return result


def done_by_week(
    *, user: Any, now: dt.datetime, zone: ZoneInfo, weeks: int = WEEKS_SHOWN
) -> dict[str, Any]:
    """Tasks each person completed in each of the last ``weeks`` weeks (this one
    included, in ``zone``), in the queues ``user`` sees. One query."""
    first = _monday(now, zone) - dt.timedelta(days=7 * (weeks - 1))
    mondays = [first + dt.timedelta(days=7 * i) for i in range(weeks)]
    labels = [iso_week(monday) for monday in mondays]
    rows = (
        tasks_visible_to(user)
        .select_related(None)
        .filter(status=Task.Status.DONE, completed_by__isnull=False, completed_at__gte=first)
        .annotate(week=TruncWeek("completed_at", tzinfo=zone))
        .values(
            "week",
            "completed_by_id",
            "completed_by__username",
            "completed_by__first_name",
            "completed_by__last_name",
        )
        .annotate(done=Count("id"))
        .order_by()
    )
    people: dict[int, dict[str, Any]] = {}
    for row in rows:
        person = people.setdefault(
            row["completed_by_id"],
            {
                "id": row["completed_by_id"],
                "name": _name(
                    row["completed_by__first_name"],
                    row["completed_by__last_name"],
                    row["completed_by__username"],
                ),
                "weeks": dict.fromkeys(labels, 0),
            },
        )
        week = iso_week(
            row["week"].astimezone(zone) if isinstance(row["week"], dt.datetime) else row["week"]
        )
        if week in person["weeks"]:
            person["weeks"][week] += row["done"]
    ordered = sorted(people.values(), key=lambda p: (p["name"].lower(), p["id"]))
    for person in ordered:
        person["weeks"] = [(week, person["weeks"][week]) for week in labels]
        person["total"] = sum(count for _, count in person["weeks"])
    return {"weeks": labels, "people": ordered}


def onboardings_in_flight(*, now: dt.datetime, limit: int = ONBOARDINGS_SHOWN) -> dict[str, Any]:
    """Accounts onboarding now, longest first: when their last deal was won (days since
    the close) and since when they are onboarding (the time to onboard so far), with
    their open tasks. Two queries: the count and the rows."""
    accounts = Account.objects.filter(lifecycle_status=Account.Lifecycle.ONBOARDING)
    since = Subquery(
        AccountLifecycleChange.objects.filter(
            account_id=OuterRef("pk"), to_status=Account.Lifecycle.ONBOARDING
        )
        .order_by("-at")
        .values("at")[:1]
    )
    rows = (
        accounts.select_related("csm")
        .annotate(
            won_at=Max("deals__closed_at", filter=Q(deals__stage=Stage.CLOSED_WON)),
            onboarding_since=since,
            open_tasks=Subquery(
                Task.objects.filter(account_id=OuterRef("pk"), status__in=Task.OPEN_STATUSES)
                .order_by()
                .values("account_id")
                .annotate(n=Count("id"))
                .values("n")[:1]
            ),
        )
        .order_by("onboarding_since", "pk")[:limit]
    )
    result = []
    for account in rows:
        started = account.onboarding_since or account.won_at
        result.append(
            {
                "account": account,
                "csm": account.csm,
                "won_at": account.won_at,
                "days_since_close": (now - account.won_at).days if account.won_at else None,
                "days_onboarding": (now - started).days if started else None,
                "open_tasks": account.open_tasks or 0,
            }
        )
    return {"count": accounts.count(), "rows": result}


def detractors_waiting() -> dict[str, Any]:
    """NPS detractors nobody has followed up yet, per CSM of the account. One query."""
    rows = (
        Response.objects.filter(kind=Kind.NPS, band="detractor", followed_up_at__isnull=True)
        .values("csm_id", "csm__username", "csm__first_name", "csm__last_name")
        .annotate(waiting=Count("id"))
        .order_by("csm__first_name", "csm__last_name", "csm__username")
    )
    people = [
        {
            "username": row["csm__username"],
            "name": _name(
                row["csm__first_name"] or "", row["csm__last_name"] or "", row["csm__username"]
            )
            if row["csm_id"]
            else "No CSM",
            "waiting": row["waiting"],
        }
        for row in rows
    ]
    return {"total": sum(p["waiting"] for p in people), "people": people}


def red_accounts() -> dict[str, Any]:
    """Accounts whose health is red, per CSM. One query."""
    rows = (
        AccountHealth.objects.filter(band=Band.RED)
        .values(
            "account__csm_id",
            "account__csm__username",
            "account__csm__first_name",
            "account__csm__last_name",
        )
        .annotate(red=Count("id"))
        .order_by("account__csm__first_name", "account__csm__last_name", "account__csm__username")
    )
    people = [
        {
            "username": row["account__csm__username"],
            "name": _name(
                row["account__csm__first_name"] or "",
                row["account__csm__last_name"] or "",
                row["account__csm__username"],
            )
            if row["account__csm_id"]
            else "No CSM",
            "red": row["red"],
        }
        for row in rows
    ]
    return {"total": sum(p["red"] for p in people), "people": people}


def capacity(*, user: Any, now: dt.datetime, open_counts: dict[int, int]) -> list[dict[str, Any]]:
    """The members of the queues ``user`` sees: their capacity (most open tasks at once),
    how much of it their open work fills, and whether they are out of office today (in
    their own time zone) and who backs them up. One query."""
    queues = queues_visible_to(user).values("pk")
    members = (
        get_user_model()
        .objects.filter(Q(task_queues__in=queues) | Q(pk__in=list(open_counts)), is_active=True)
        .select_related("profile", "profile__backup")
        .distinct()
        .order_by("first_name", "last_name", "username")
    )
    result = []
    for member in members:
        profile = getattr(member, "profile", None)
        open_now = open_counts.get(member.pk, 0)
        limit = profile.capacity if profile else None
        away = False
        if profile is not None:
            away = profile.is_out_of_office(now.astimezone(_zone_of(profile)).date())
        result.append(
            {
                "id": member.pk,
                "name": member.get_full_name() or member.get_username(),
                "open": open_now,
                "capacity": limit,
                "load": round(100 * open_now / limit) if limit else None,
                "at_capacity": limit is not None and open_now >= limit,
                "away": away,
                "away_until": profile.out_of_office_until if away else None,
                "backup": (profile.backup.get_full_name() or profile.backup.get_username())
                if away and profile.backup
                else None,
            }
        )
    return result


def _zone_of(profile: Profile) -> ZoneInfo:
    try:
        return ZoneInfo(profile.timezone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def team_dashboard(*, user: Any, now: dt.datetime) -> dict[str, Any]:
    """Everything the team dashboard shows, for ``user``'s queues."""
    stats = queue_stats(user=user, now=now)
    zone = user_timezone(user)
    open_counts = {person["id"]: person["open"] for person in stats["people"]}
    return {
        "queues": stats["queues"],
        "people": [p for p in stats["people"] if p["open"] or p["done_this_week"]],
        "sla": sla_compliance(user=user, now=now, zone=zone),
        "done": done_by_week(user=user, now=now, zone=zone),
        "onboardings": onboardings_in_flight(now=now),
        "detractors": detractors_waiting(),
        "red": red_accounts(),
        "capacity": capacity(user=user, now=now, open_counts=open_counts),
    }
