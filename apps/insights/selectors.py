"""Closed-won insights: what was won and lost, why, how long it took, and what happened
after the close. Every figure is one grouped query (a fixed number per page whatever the
number of deals or step runs); Python only divides and labels the few rows that come back.

Filters are the growth results' (``ResultFilters``: a period and a segment). A deal counts
in the period it was closed (``closed_at``, days in the viewer's time zone); a playbook run
in the period its enrollment started. Amounts are summed per currency, never added across.
"""

import datetime as dt
from collections import defaultdict
from decimal import Decimal
from typing import Any

from django.db.models import (
    Avg,
    Count,
    DurationField,
    ExpressionWrapper,
    F,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
)
from django.db.models.functions import Coalesce, TruncQuarter
from django.utils import timezone

from apps.customers.models import Account, AccountLifecycleChange
from apps.deals.models import CLOSED_STAGES, Deal, Stage
from apps.growth.results import ResultFilters
from apps.insights.models import StepFunnelDay
from apps.playbooks.models import Playbook, PlaybookStep

# How the reasons and onboarding tables can be broken down, and what a row is called.
BREAKDOWNS = {
    "segment": "Segment",
    "family": "Product family",
    "rep": "Rep",
    "quarter": "Quarter",
}
FUNNEL_STATES = ("done", "skipped", "dead")
NO_REASON = "(no reason)"
CENT = Decimal("0.01")
NONE_LABEL = "(none)"

WON = Q(stage=Stage.CLOSED_WON)
LOST = Q(stage=Stage.CLOSED_LOST)


def _days(duration: dt.timedelta | None) -> float | None:
    return round(duration.total_seconds() / 86400, 1) if duration is not None else None


def _bounds(filters: ResultFilters) -> tuple[dt.datetime | None, dt.datetime | None]:
    """The period as moments (start of the first day, start of the day after the last) in
    the current time zone, so an index on the timestamp can be used."""
    zone = timezone.get_current_timezone()
    start = end = None
    if filters.since:
        start = dt.datetime.combine(filters.since, dt.time.min, tzinfo=zone)
    if filters.until:
        end = dt.datetime.combine(filters.until + dt.timedelta(days=1), dt.time.min, tzinfo=zone)
    return start, end


def _in_period(rows: QuerySet, field: str, filters: ResultFilters) -> QuerySet:
    start, end = _bounds(filters)
    if start:
        rows = rows.filter(**{f"{field}__gte": start})
    if end:
        rows = rows.filter(**{f"{field}__lt": end})
    return rows


def closed_deals(filters: ResultFilters) -> QuerySet[Deal]:
    """Deals closed (won or lost) in the period, of accounts in the segment."""
    deals = Deal.objects.filter(stage__in=CLOSED_STAGES, closed_at__isnull=False)
    deals = _in_period(deals, "closed_at", filters)
    if filters.segment:
        deals = deals.filter(account__segment=filters.segment)
    return deals.order_by()


def _cycle() -> ExpressionWrapper:
    return ExpressionWrapper(F("closed_at") - F("created_at"), output_field=DurationField())


def deal_figures(filters: ResultFilters) -> dict[str, Any]:
    """Won and lost counts, the win rate (won ÷ (won + lost)) and the average sales cycle
    (created → closed) of won and of lost deals (``summary``); won and lost amounts and
    the average won deal per currency (``amounts``). One query, grouped by currency."""
    rows = list(
        closed_deals(filters)
        .values("currency")
        .annotate(
            won=Count("id", filter=WON),
            lost=Count("id", filter=LOST),
            won_cycle=Sum(_cycle(), filter=WON),
            lost_cycle=Sum(_cycle(), filter=LOST),
            won_amount=Sum("amount", filter=WON),
            lost_amount=Sum("amount", filter=LOST),
            won_priced=Count("amount", filter=WON),
        )
        .order_by("currency")
    )
    won = sum(row["won"] for row in rows)
    lost = sum(row["lost"] for row in rows)

    def average_cycle(count: int, key: str) -> float | None:
        total = sum((row[key] for row in rows if row[key] is not None), dt.timedelta())
        return _days(total / count) if count else None

    return {
        "summary": {
            "won": won,
            "lost": lost,
            "win_rate": round(100 * won / (won + lost), 1) if won + lost else None,
            "cycle_days": average_cycle(won, "won_cycle"),
            "lost_cycle_days": average_cycle(lost, "lost_cycle"),
        },
        "amounts": [
            {
                "currency": row["currency"] or "?",
                "won_amount": _cents(row["won_amount"] or 0),
                "lost_amount": _cents(row["lost_amount"] or 0),
                "average_won": _cents(Decimal(row["won_amount"]) / row["won_priced"])
                if row["won_priced"]
                else None,
            }
            for row in rows
        ],
    }


def deal_summary(filters: ResultFilters) -> dict[str, Any]:
    """The counts, win rate and sales cycles of ``deal_figures``."""
    return deal_figures(filters)["summary"]


def deal_amounts(filters: ResultFilters) -> list[dict[str, Any]]:
    """The amounts per currency of ``deal_figures``."""
    return deal_figures(filters)["amounts"]


def _cents(amount: Any) -> Decimal:
    return Decimal(amount).quantize(CENT)


def _breakdown(deals: QuerySet[Deal], by: str) -> tuple[QuerySet, tuple[str, ...]]:
    """``deals`` with a ``group`` to break figures down by, and the fields that name it.
    A deal with products of two families counts once in each."""
    if by == "segment":
        return deals.annotate(group=F("account__segment")), ("group",)
    if by == "family":
        return deals.annotate(group=F("line_items__product__family__name")), ("group",)
    if by == "rep":
        names = ("owner__username", "owner__first_name", "owner__last_name")
        return deals.annotate(group=F("owner_id")), ("group", *names)
    if by == "quarter":
        return deals.annotate(group=TruncQuarter("closed_at")), ("group",)
    raise ValueError(f"by: one of {', '.join(BREAKDOWNS)}")


def _group_label(by: str, row: dict[str, Any]) -> str:
    value = row["group"]
    if value in (None, ""):
        return NONE_LABEL
    if by == "quarter":
        moment = value.date() if isinstance(value, dt.datetime) else value
        return f"{moment.year} Q{(moment.month - 1) // 3 + 1}"
    if by == "rep":
        full = f"{row['owner__first_name']} {row['owner__last_name']}".strip()
        return full or row["owner__username"]
    return str(value)


def all_reasons(filters: ResultFilters, *, by: str) -> dict[str, list[dict[str, Any]]]:
    """Win reasons (``"win"``) and loss reasons (``"loss"``) of the period's closed deals,
    by segment, product family, rep or quarter: deals per reason and the reason's share of
    its group. Rows come group by group, the most frequent reason first. One query."""
    grouped, names = _breakdown(closed_deals(filters), by)
    rows = (
        grouped.values(
            *names,
            "stage",
            reason=Coalesce(F("win_reason__name"), F("loss_reason__name")),
        )
        .annotate(deals=Count("id", distinct=by == "family"))
        .order_by()
    )
    result: dict[str, list[dict[str, Any]]] = {"win": [], "loss": []}
    totals: dict[tuple[str, str], int] = defaultdict(int)
    for row in rows:
        kind = "win" if row["stage"] == Stage.CLOSED_WON else "loss"
        label = _group_label(by, row)
        totals[kind, label] += row["deals"]
        result[kind].append(
            {"group": label, "reason": row["reason"] or NO_REASON, "deals": row["deals"]}
        )
    for kind, kind_rows in result.items():
        for row in kind_rows:
            row["share"] = round(100 * row["deals"] / totals[kind, row["group"]], 1)
        kind_rows.sort(
            key=lambda r: (r["group"] == NONE_LABEL, r["group"], -r["deals"], r["reason"])
        )
    return result


def reasons(filters: ResultFilters, *, kind: str, by: str) -> list[dict[str, Any]]:
    """The win (``kind="win"``) or loss reasons of ``all_reasons``."""
    if kind not in ("win", "loss"):
        raise ValueError("kind: win or loss")
    return all_reasons(filters, by=by)[kind]


def _onboarded_at() -> Subquery:
    """When the deal's account first moved from onboarding to active after the close."""
    return Subquery(
        AccountLifecycleChange.objects.filter(
            account_id=OuterRef("account_id"),
            from_status=Account.Lifecycle.ONBOARDING,
            to_status=Account.Lifecycle.ACTIVE,
            at__gte=OuterRef("closed_at"),
        )
        .order_by("at")
        .values("at")[:1]
    )


def onboard_overall(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The overall row from ``time_to_onboard`` rows whose groups do not overlap (any
    breakdown but product family): sums, and the average weighted by accounts onboarded."""
    onboarded = sum(row["onboarded"] for row in rows)
    weighted = sum(row["days_total"] for row in rows)
    return {
        "group": "All",
        "won": sum(row["won"] for row in rows),
        "onboarded": onboarded,
        "onboarding": sum(row["onboarding"] for row in rows),
        "average_days": round(weighted / onboarded, 1) if onboarded else None,
    }


def time_to_onboard(filters: ResultFilters, *, by: str | None = None) -> list[dict[str, Any]]:
    """For new-business deals won in the period: how many accounts finished onboarding
    (moved onboarding → active after the close), the average days from close to then, and
    how many are still onboarding. One row, or one per ``by`` group. One query."""
    deals = closed_deals(filters).filter(WON, kind=Deal.Kind.NEW_BUSINESS)
    deals = deals.annotate(onboarded_at=_onboarded_at())
    # Only the product families join to many rows per deal.
    distinct = by == "family"
    figures = {
        "won": Count("id", distinct=distinct),
        "onboarded": Count("id", filter=Q(onboarded_at__isnull=False), distinct=distinct),
        "onboarding": Count(
            "id",
            filter=Q(
                onboarded_at__isnull=True,
                account__lifecycle_status=Account.Lifecycle.ONBOARDING,
            ),
            distinct=distinct,
        ),
        "average": Avg(
            ExpressionWrapper(F("onboarded_at") - F("closed_at"), output_field=DurationField())
        ),
    }
    if by is None:
        rows = [{**deals.aggregate(**figures), "label": "All"}]
    else:
        grouped, names = _breakdown(deals, by)
        rows = [
            {**row, "label": _group_label(by, row)}
            for row in grouped.values(*names).annotate(**figures).order_by()
        ]
    result = [
        {
            "group": row["label"],
            "won": row["won"],
            "onboarded": row["onboarded"],
            "onboarding": row["onboarding"],
            "average_days": _days(row["average"]),
            # Unrounded, so groups add up to the overall average exactly.
            "days_total": row["average"].total_seconds() / 86400 * row["onboarded"]
            if row["average"] is not None
            else 0.0,
        }
        for row in rows
    ]
    return sorted(result, key=lambda r: (r["group"] == NONE_LABEL, r["group"]))


def playbook_funnel(filters: ResultFilters) -> list[dict[str, Any]]:
    """Per playbook and step, of the enrollments started in the period (days in UTC;
    accounts in the segment): how many reached the step (its first occurrence exists)
    and how many of those are done, skipped or dead. Read from the daily counts
    (``StepFunnelDay``, rebuilt every ten minutes); steps in the playbook's order. Three
    queries."""
    days = StepFunnelDay.objects.all()
    if filters.since:
        days = days.filter(day__gte=filters.since)
    if filters.until:
        days = days.filter(day__lte=filters.until)
    if filters.segment:
        days = days.filter(segment=filters.segment)
    rows = list(
        days.values("playbook_id", "step_key")
        .annotate(
            reached=Sum("reached"),
            done=Sum("done"),
            skipped=Sum("skipped"),
            dead=Sum("dead"),
            counted_at=Max("counted_at"),
        )
        .order_by()
    )
    playbook_ids = {row["playbook_id"] for row in rows}
    playbooks = dict(Playbook.objects.filter(pk__in=playbook_ids).values_list("pk", "name"))
    steps = {
        (step["playbook_id"], step["key"]): (step["position"], step["name"])
        for step in PlaybookStep.objects.filter(playbook_id__in=playbook_ids).values(
            "playbook_id", "key", "position", "name"
        )
    }
    result = []
    for row in rows:
        position, name = steps.get((row["playbook_id"], row["step_key"]), (None, row["step_key"]))
        result.append(
            {
                "playbook": playbooks.get(row["playbook_id"], NONE_LABEL),
                "step_key": row["step_key"],
                "step": name,
                "position": position,
                **{key: row[key] for key in ("reached", *FUNNEL_STATES)},
                "done_rate": round(100 * row["done"] / row["reached"], 1)
                if row["reached"]
                else None,
                "counted_at": row["counted_at"],
            }
        )
    # Steps no longer in the draft (older versions only) go after the current ones.
    return sorted(
        result,
        key=lambda r: (r["playbook"], r["position"] is None, r["position"] or 0, r["step_key"]),
    )
