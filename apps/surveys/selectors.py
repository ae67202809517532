"""Survey reads: the Responses page's filters and the metrics, aggregated in SQL."""

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db.models import Avg, Count, Q, QuerySet
from django.db.models.functions import TruncMonth

from apps.core import clock
from apps.surveys.models import Invitation, Kind, Response

# A detractor nobody followed up within this many hours shows as overdue.
DETRACTOR_SLA_HOURS = 24
LOW_BANDS = ("detractor", "low")


@dataclass(frozen=True)
class ResponseFilters:
    kind: str = ""
    band: str = ""
    score: int | None = None
    segment: str = ""
    csm_id: int | None = None
    playbook_id: int | None = None
    answered_from: dt.date | None = None
    answered_to: dt.date | None = None
    followed_up: bool | None = None


def _overdue_before(now: dt.datetime) -> dt.datetime:
    hours = getattr(settings, "SURVEY_DETRACTOR_SLA_HOURS", DETRACTOR_SLA_HOURS)
    return now - dt.timedelta(hours=hours)


# Where each filter looks, on responses and on invitations (their account's fields).
RESPONSE_FIELDS = {
    "kind": "kind",
    "band": "band",
    "score": "score",
    "segment": "segment",
    "csm_id": "csm_id",
    "playbook_id": "playbook_id",
    "answered_from": "answered_at__date__gte",
    "answered_to": "answered_at__date__lte",
}
INVITATION_FIELDS = {
    "kind": "survey__kind",
    "segment": "account__segment",
    "csm_id": "account__csm_id",
    "playbook_id": "playbook_id",
    "answered_from": "created_at__date__gte",
    "answered_to": "created_at__date__lte",
}


def _matching(filters: ResponseFilters, fields: dict[str, str]) -> Q:
    """The filters that are set, as one Q over ``fields``."""
    conditions = {
        lookup: getattr(filters, name)
        for name, lookup in fields.items()
        if getattr(filters, name) not in (None, "")
    }
    return Q(**conditions)


def responses_filtered(filters: ResponseFilters) -> QuerySet[Response]:
    responses = Response.objects.filter(_matching(filters, RESPONSE_FIELDS))
    if filters.followed_up is not None:
        responses = responses.filter(followed_up_at__isnull=not filters.followed_up)
    return responses


def response_list(filters: ResponseFilters) -> QuerySet[Response]:
    """The Responses page's rows, newest first, with what each row shows."""
    overdue = Q(band__in=LOW_BANDS, followed_up_at__isnull=True) & Q(
        answered_at__lt=_overdue_before(clock.now())
    )
    return (
        responses_filtered(filters)
        .select_related("account", "contact", "csm", "followed_up_by", "survey")
        .annotate(is_overdue=Q(overdue))
        .order_by("-answered_at", "-id")
    )


def _aggregates(responses: QuerySet[Response]) -> dict[str, Any]:
    return {
        "responses": Count("id"),
        "nps_n": Count("id", filter=Q(kind=Kind.NPS)),
        "promoters": Count("id", filter=Q(kind=Kind.NPS, band="promoter")),
        "detractors": Count("id", filter=Q(kind=Kind.NPS, band="detractor")),
        "csat_n": Count("id", filter=Q(kind=Kind.CSAT)),
        "csat_satisfied": Count("id", filter=Q(kind=Kind.CSAT, score__gte=4)),
        "csat_mean": Avg("score", filter=Q(kind=Kind.CSAT)),
        "ces_mean": Avg("score", filter=Q(kind=Kind.CES)),
    }


def _derived(row: dict[str, Any]) -> dict[str, Any]:
    """NPS, CSAT % and means from the counts: the arithmetic on a handful of numbers."""
    nps_n, csat_n = row["nps_n"], row["csat_n"]
    return {
        **row,
        "nps": round(100 * (row["promoters"] - row["detractors"]) / nps_n, 1) if nps_n else None,
        "csat_pct": round(100 * row["csat_satisfied"] / csat_n, 1) if csat_n else None,
        "csat_mean": round(float(row["csat_mean"]), 2) if row["csat_mean"] is not None else None,
        "ces_mean": round(float(row["ces_mean"]), 2) if row["ces_mean"] is not None else None,
    }


GROUPS = {
    "month": ("month", None),
    "playbook": ("playbook_id", "playbook__name"),
    "segment": ("segment", None),
    "csm": ("csm_id", "csm__username"),
}


def response_metrics(filters: ResponseFilters, *, by: str | None = None) -> list[dict[str, Any]]:
    """NPS, CSAT (% of 4–5 and mean), CES mean and counts for the filtered responses: one
    row, or one per ``by`` (month, playbook, segment, csm). One GROUP BY query; response
    rate and suppressions come from the invitations in the same window."""
    responses = responses_filtered(filters)
    if by is None:
        rows = [responses.aggregate(**_aggregates(responses))]
        rows[0]["group"] = "all"
    else:
        if by not in GROUPS:
            raise ValueError(f"by: one of {', '.join(GROUPS)}")
        field, label = GROUPS[by]
        if by == "month":
            responses = responses.annotate(month=TruncMonth("answered_at"))
        values = [field] + ([label] if label else [])
        rows = list(responses.values(*values).annotate(**_aggregates(responses)).order_by(field))
        for row in rows:
            key = row.get(label) if label else row[field]
            row["group"] = key.date().isoformat()[:7] if by == "month" and key else key
    rows = [_derived(row) for row in rows]
    if by is None:
        rows[0].update(invitation_counts(filters))
    return rows


def invitation_counts(filters: ResponseFilters) -> dict[str, Any]:
    """Sent, answered and suppressed invitations in the window: the response rate."""
    invitations = Invitation.objects.filter(_matching(filters, INVITATION_FIELDS))
    counts = invitations.aggregate(
        invited=Count("id", filter=~Q(status=Invitation.Status.SUPPRESSED)),
        answered=Count("id", filter=Q(status=Invitation.Status.ANSWERED)),
        suppressed=Count("id", filter=Q(status=Invitation.Status.SUPPRESSED)),
    )
    invited = counts["invited"]
    counts["response_rate"] = round(100 * counts["answered"] / invited, 1) if invited else None
    return counts


def responses_for_task(task: Any) -> list[Response]:
    """The answers behind a task: the response its playbook waited for, else the
    account's latest few."""
    if not getattr(task, "account_id", None):
        return []
    return list(
        Response.objects.filter(account_id=task.account_id)
        .select_related("contact", "survey", "followed_up_by")
        .order_by("-answered_at", "-id")[:5]
    )


def suppressions_for_enrollment(enrollment_id: int) -> list[Invitation]:
    return list(
        Invitation.objects.filter(
            enrollment_id=enrollment_id, status=Invitation.Status.SUPPRESSED
        ).select_related("contact")
    )


def answer_facts(event: Any) -> dict[str, Any]:
    """What a wait on a survey reads from ``survey.answered`` (``steps.<wait>.score``,
    ``.band``, ``.comment``), with a line for timelines."""
    payload = event.payload or {}
    facts = {
        key: payload.get(key)
        for key in ("survey", "survey_kind", "score", "band", "comment", "contact", "response_id")
    }
    comment = f": “{payload['comment']}”" if payload.get("comment") else ""
    facts["summary"] = (
        f"Answered {payload.get('score')} ({payload.get('band')}) by "
        f"{payload.get('contact') or 'the contact'}{comment}"
    )[:300]
    return facts
