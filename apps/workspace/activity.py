"""The account's activity timeline: stage and lifecycle changes, tasks done, emails sent,
survey answers, notes, enrollments started and finished, referrals, merged newest first.

Each source is read with one query limited to a page (plus one row, to know whether
there is more), from a cursor: the page's last entry (its moment, source and id). The
sources are merged in Python. So a page costs one query per source whatever the
account's history, and a deep page costs no more than the first (no OFFSET).

The order is total: moment, then the source's place in ``SOURCES``, then the row's id,
all descending; the cursor condition below follows that order exactly, so no entry is
shown twice or skipped when two happen in the same microsecond.
"""

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db.models import Q, QuerySet
from django.urls import reverse

from apps.customers.models import Account, AccountLifecycleChange
from apps.deals.models import StageChange
from apps.engine.models import Enrollment
from apps.growth.models import Referral
from apps.notifications.models import EmailMessage
from apps.queues.models import Task
from apps.queues.selectors import tasks_visible_to
from apps.surveys.models import Response
from apps.workspace.links import deal_url
from apps.workspace.models import AccountNote

PAGE_SIZE = 20


@dataclass(frozen=True)
class Entry:
    at: dt.datetime
    source: str
    rank: int
    pk: int
    label: str
    text: str
    url: str = ""
    who: str = ""

    @property
    def cursor(self) -> str:
        return f"{self.at.isoformat()}|{self.rank}|{self.pk}"


@dataclass(frozen=True)
class Cursor:
    at: dt.datetime
    rank: int
    pk: int


class BadCursor(ValueError):
    pass


def cursor_parse(raw: str) -> Cursor:
    """``<ISO moment>|<source rank>|<id>`` as the page's "older" link writes it."""
    try:
        at_text, rank_text, pk_text = raw.split("|")
        at = dt.datetime.fromisoformat(at_text)
        rank, pk = int(rank_text), int(pk_text)
    except ValueError:
        raise BadCursor("is not a position in this timeline.") from None
    if at.tzinfo is None or not 0 <= rank < len(SOURCES) or pk < 1:
        raise BadCursor("is not a position in this timeline.")
    return Cursor(at=at, rank=rank, pk=pk)


def _person(user: Any) -> str:
    return (user.get_full_name() or user.get_username()) if user else ""


@dataclass(frozen=True)
class Source:
    """One kind of entry: who may see it, its rows for an account and how one reads."""

    key: str
    at_field: str
    permission: str | None
    rows: Callable[[Account, Any], QuerySet]
    # (row, viewer) → label, text, url, who
    describe: Callable[[Any, Any], tuple[str, str, str, str]]


def _stage_rows(account: Account, user: Any) -> QuerySet:
    return StageChange.objects.filter(deal__account=account).select_related("deal", "actor")


def _stage_text(change: StageChange, user: Any) -> tuple[str, str, str, str]:
    text = (
        f"{change.deal.name}: {change.get_from_stage_display()} → {change.get_to_stage_display()}"
    )
    if change.reason:
        text += f" ({change.reason})"
    return "Deal stage", text, deal_url(change.deal_id, user), _person(change.actor)


def _lifecycle_rows(account: Account, user: Any) -> QuerySet:
    return AccountLifecycleChange.objects.filter(account=account).select_related("actor")


def _lifecycle_text(change: AccountLifecycleChange, user: Any) -> tuple[str, str, str, str]:
    text = f"{change.get_from_status_display()} → {change.get_to_status_display()}"
    if change.reason:
        text += f" ({change.reason})"
    return "Lifecycle", text, "", _person(change.actor)


def _task_rows(account: Account, user: Any) -> QuerySet:
    return tasks_visible_to(user).filter(
        account=account,
        status__in=(Task.Status.DONE, Task.Status.SKIPPED),
        completed_at__isnull=False,
    )


def _task_text(task: Task, user: Any) -> tuple[str, str, str, str]:
    label = "Task done" if task.status == Task.Status.DONE else "Task skipped"
    text = task.title + (f" — {task.outcome}" if task.outcome else "")
    return label, text, reverse("queues:task_detail", args=[task.pk]), _person(task.completed_by)


def _email_rows(account: Account, user: Any) -> QuerySet:
    return EmailMessage.objects.filter(
        contact__account=account, status=EmailMessage.Status.SENT, sent_at__isnull=False
    )


def _email_text(email: EmailMessage, user: Any) -> tuple[str, str, str, str]:
    text = f"{email.subject} → {email.to_name or email.to_email}"
    return "Email sent", text, reverse("notifications:email_detail", args=[email.pk]), ""


def _response_rows(account: Account, user: Any) -> QuerySet:
    return Response.objects.filter(account=account).select_related("contact")


def _response_text(response: Response, user: Any) -> tuple[str, str, str, str]:
    text = f"{response.get_kind_display()} {response.score} ({response.band})"
    if response.comment:
        text += f": “{response.comment}”"
    url = reverse("surveys:response_detail", args=[response.pk])
    return "Survey answer", text, url, response.contact.name if response.contact else ""


def _note_rows(account: Account, user: Any) -> QuerySet:
    return AccountNote.objects.filter(account=account).select_related("author")


def _note_text(note: AccountNote, user: Any) -> tuple[str, str, str, str]:
    return "Note", note.body, "", _person(note.author)


def _enrolled_rows(account: Account, user: Any) -> QuerySet:
    return Enrollment.objects.filter(account=account).select_related("version__playbook")


def _enrolled_text(enrollment: Enrollment, user: Any) -> tuple[str, str, str, str]:
    return "Playbook started", str(enrollment.version), "", ""


def _finished_rows(account: Account, user: Any) -> QuerySet:
    return Enrollment.objects.filter(account=account, finished_at__isnull=False).select_related(
        "version__playbook"
    )


def _finished_text(enrollment: Enrollment, user: Any) -> tuple[str, str, str, str]:
    text = f"{enrollment.version}: {enrollment.get_state_display().lower()}"
    if enrollment.cancelled_reason:
        text += f" ({enrollment.cancelled_reason})"
    return "Playbook finished", text, "", ""


def _referral_rows(account: Account, user: Any) -> QuerySet:
    return Referral.objects.filter(referrer_account=account).select_related("referrer_contact")


def _referral_text(referral: Referral, user: Any) -> tuple[str, str, str, str]:
    text = f"{referral.company} ({referral.contact_name})"
    return "Referral made", text, "", referral.referrer_contact.name


SOURCES: tuple[Source, ...] = (
    Source("stage", "occurred_at", "deals.view_stagechange", _stage_rows, _stage_text),
    Source(
        "lifecycle",
        "at",
        "customers.view_accountlifecyclechange",
        _lifecycle_rows,
        _lifecycle_text,
    ),
    Source("task", "completed_at", "queues.view_task", _task_rows, _task_text),
    Source("email", "sent_at", "notifications.view_emailmessage", _email_rows, _email_text),
    Source("response", "answered_at", "surveys.view_response", _response_rows, _response_text),
    Source("note", "created_at", "workspace.view_accountnote", _note_rows, _note_text),
    Source("enrolled", "created_at", "engine.view_enrollment", _enrolled_rows, _enrolled_text),
    Source("finished", "finished_at", "engine.view_enrollment", _finished_rows, _finished_text),
    Source("referral", "submitted_at", "growth.view_referral", _referral_rows, _referral_text),
)


def _after(source: Source, rank: int, cursor: Cursor | None) -> Q:
    """Rows of ``source`` that come after ``cursor`` in the timeline's order."""
    if cursor is None:
        return Q()
    at = source.at_field
    if rank < cursor.rank:
        return Q(**{f"{at}__lte": cursor.at})
    if rank > cursor.rank:
        return Q(**{f"{at}__lt": cursor.at})
    return Q(**{f"{at}__lt": cursor.at}) | Q(**{at: cursor.at, "pk__lt": cursor.pk})


@dataclass(frozen=True)
class ActivityPage:
    entries: list[Entry]
    older: str  # the cursor of the next page, "" at the end


def account_activity(
    *, account: Account, user: Any, cursor: Cursor | None = None, size: int = PAGE_SIZE
) -> ActivityPage:
    """One page of the account's activity, newest first, after ``cursor``: at most one
    query per source the viewer may see."""
    entries: list[Entry] = []
    for rank, source in enumerate(SOURCES):
        if source.permission and not user.has_perm(source.permission):
            continue
        rows = (
            source.rows(account, user)
            .filter(_after(source, rank, cursor))
            .order_by(f"-{source.at_field}", "-pk")[: size + 1]
        )
        for row in rows:
            label, text, url, who = source.describe(row, user)
            entries.append(
                Entry(
                    at=getattr(row, source.at_field),
                    source=source.key,
                    rank=rank,
                    pk=row.pk,
                    label=label,
                    text=text,
                    url=url,
                    who=who,
                )
            )
    entries.sort(key=lambda e: (e.at, e.rank, e.pk), reverse=True)
    page = entries[:size]
    older = page[-1].cursor if len(entries) > size else ""
    return ActivityPage(entries=page, older=older)
