"""Survey reads: the Responses page's filters and the metrics, aggregated in SQL."""

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Count, F, Q, QuerySet, Sum
from django.db.models.functions import Coalesce, TruncMonth

from apps.core import clock
from apps.playbooks.models import Playbook
from apps.surveys.models import Invitation, InvitationMonth, Kind, Response, ResponseMonth

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


def _uses_rollups(filters: ResponseFilters) -> bool:
    """The monthly counts answer everything but a date range (which starts and ends on
    days, in the viewer's time zone): that reads the responses themselves."""
    return filters.answered_from is None and filters.answered_to is None


# The monthly rows' keys; "no CSM" and "no playbook" are 0 there.
ROLLUP_FIELDS = {
    "kind": "kind",
    "band": "band",
    "score": "score",
    "segment": "segment",
    "csm_id": "csm_id",
    "playbook_id": "playbook_id",
}
INVITATION_ROLLUP_FIELDS = {
    "kind": "kind",
    "segment": "segment",
    "csm_id": "csm_id",
    "playbook_id": "playbook_id",
}


def _rollup_rows(filters: ResponseFilters, fields: dict[str, str] = ROLLUP_FIELDS):
    rows = ResponseMonth.objects.filter(_matching(filters, fields))
    if filters.followed_up is not None and "band" in fields:
        rows = rows.filter(followed_up=filters.followed_up)
    return rows


def _aggregates(*, weighted: bool) -> dict[str, Any]:
    """Counts and score sums: of responses (each row is one), or of monthly rows (each
    stands for ``responses`` of them)."""

    def count(condition: Q | None = None):
        if weighted:
            return Coalesce(Sum("responses", filter=condition), 0)
        return Count("id", filter=condition)

    def score_sum(condition: Q):
        value = F("score") * F("responses") if weighted else F("score")
        return Coalesce(Sum(value, filter=condition), 0)

    nps, csat, ces = Q(kind=Kind.NPS), Q(kind=Kind.CSAT), Q(kind=Kind.CES)
    return {
        "total": count(),  # "responses" once derived (the counts' own field has that name)
        "nps_n": count(nps),
        "promoters": count(nps & Q(band="promoter")),
        "detractors": count(nps & Q(band="detractor")),
        "csat_n": count(csat),
        "csat_satisfied": count(csat & Q(score__gte=4)),
        "csat_sum": score_sum(csat),
        "ces_n": count(ces),
        "ces_sum": score_sum(ces),
    }


def _derived(row: dict[str, Any]) -> dict[str, Any]:
    """NPS, CSAT % and the means from the counts: the arithmetic on a handful of numbers."""
    nps_n, csat_n, ces_n = row["nps_n"], row["csat_n"], row["ces_n"]
    row = {("responses" if key == "total" else key): value for key, value in row.items()}
    return {
        **row,
        "nps": round(100 * (row["promoters"] - row["detractors"]) / nps_n, 1) if nps_n else None,
        "csat_pct": round(100 * row["csat_satisfied"] / csat_n, 1) if csat_n else None,
        "csat_mean": round(row["csat_sum"] / csat_n, 2) if csat_n else None,
        "ces_mean": round(row["ces_sum"] / ces_n, 2) if ces_n else None,
    }


GROUPS = {"month": "month", "playbook": "playbook_id", "segment": "segment", "csm": "csm_id"}


def _labels(by: str, keys: list[Any]) -> dict[Any, Any]:
    """What a group is called on the page: a username, a playbook's name, "2026-03"."""
    ids = [key for key in keys if key]
    if by == "csm":
        return dict(get_user_model().objects.filter(pk__in=ids).values_list("pk", "username"))
    if by == "playbook":
        return dict(Playbook.objects.filter(pk__in=ids).values_list("pk", "name"))
    if by == "month":
        return {key: f"{key:%Y-%m}" for key in ids}
    return {key: key for key in ids}


def response_metrics(filters: ResponseFilters, *, by: str | None = None) -> list[dict[str, Any]]:
    """NPS, CSAT (% of 4–5 and mean), CES mean and counts for the filtered responses: one
    row, or one per ``by`` (month, playbook, segment, csm). One aggregate query over the
    monthly counts (over the responses for a date range); with no ``by``, the response
    rate and suppressions too."""
    if by is not None and by not in GROUPS:
        raise ValueError(f"by: one of {', '.join(GROUPS)}")
    weighted = _uses_rollups(filters)
    source = _rollup_rows(filters) if weighted else responses_filtered(filters)
    aggregates = _aggregates(weighted=weighted)
    if by is None:
        row = {**source.aggregate(**aggregates), "group": "all"}
        return [{**_derived(row), **invitation_counts(filters)}]
    field = GROUPS[by]
    if by == "month" and not weighted:
        source = source.annotate(month=TruncMonth("answered_at", tzinfo=dt.UTC))
    rows = list(source.values(field).annotate(**aggregates).order_by(field))
    if by == "month":
        for row in rows:  # a truncated timestamp on the responses, a date on the counts
            if isinstance(row["month"], dt.datetime):
                row["month"] = row["month"].date()
    labels = _labels(by, [row[field] for row in rows])
    return [_derived({**row, "group": labels.get(row[field])}) for row in rows]


def responses_count(filters: ResponseFilters) -> int:
    """How many responses the filters match (the page count), from the monthly counts
    where they can answer."""
    if _uses_rollups(filters):
        return _rollup_rows(filters).aggregate(n=Coalesce(Sum("responses"), 0))["n"]
    return responses_filtered(filters).count()


def invitation_counts(filters: ResponseFilters) -> dict[str, Any]:
    """Invitations sent and held back, and how many were answered: the response rate."""
    if _uses_rollups(filters):
        counts = InvitationMonth.objects.filter(
            _matching(filters, INVITATION_ROLLUP_FIELDS)
        ).aggregate(
            invited=Coalesce(Sum("invitations", filter=Q(suppressed=False)), 0),
            suppressed=Coalesce(Sum("invitations", filter=Q(suppressed=True)), 0),
        )
        counts["answered"] = _rollup_rows(filters, INVITATION_ROLLUP_FIELDS).aggregate(
            n=Coalesce(Sum("responses"), 0)
        )["n"]
    else:
        counts = Invitation.objects.filter(_matching(filters, INVITATION_FIELDS)).aggregate(
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
