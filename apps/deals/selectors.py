import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from itertools import chain
from typing import Any

from django.db.models import Count, F, Prefetch, Q, QuerySet, Sum

from apps.deals.models import Deal, DealFieldChange, DealLineItem, Stage, StageChange

# The pipeline reads left to right: the open stages in order, then the outcomes.
PIPELINE_STAGES = (
    Stage.NEW,
    Stage.QUALIFIED,
    Stage.PROPOSAL,
    Stage.NEGOTIATION,
    Stage.CLOSED_WON,
    Stage.CLOSED_LOST,
)


def deal_list() -> QuerySet[Deal]:
    return Deal.objects.select_related(
        "account", "owner", "primary_contact", "win_reason", "loss_reason"
    )


def deal_timeline(*, deal: Deal) -> QuerySet[StageChange]:
    """The deal's stage history, oldest first."""
    return deal.stage_changes.select_related("actor").order_by("occurred_at", "id")


def deal_field_changes(*, deal: Deal) -> QuerySet[DealFieldChange]:
    """Changes to the deal's fields and line items, oldest first."""
    return deal.field_changes.select_related("actor").order_by("occurred_at", "id")


def deal_list_with_line_items() -> QuerySet[Deal]:
    """Deals with their line items and products loaded, for detail views."""
    return deal_list().prefetch_related(
        Prefetch("line_items", queryset=DealLineItem.objects.select_related("product"))
    )


def deal_latest_won(*, account) -> Deal | None:
    """The account's most recently won deal: the deal an account event's enrollment
    works with (its owner, its products)."""
    return (
        Deal.objects.select_related("account")
        .filter(account=account, stage=Stage.CLOSED_WON)
        .order_by("-closed_at", "-id")
        .first()
    )


# The pipeline (My deals) ----------------------------------------------------------------


@dataclass(frozen=True)
class PipelineFilters:
    """What the pipeline shows: one owner's deals (or everyone's with ``owner=None``), a
    stage, a close-date range and a search over the deal's and the account's names."""

    owner: Any = None
    stage: str = ""
    close_from: dt.date | None = None
    close_to: dt.date | None = None
    search: str = ""


@dataclass(frozen=True)
class StageTotal:
    stage: str
    label: str
    count: int
    amounts: list[tuple[str, Decimal]]  # (currency, total), deals without an amount left out


def pipeline_deals(*, filters: PipelineFilters) -> QuerySet[Deal]:
    deals = Deal.objects.select_related("account", "owner")
    if filters.owner is not None:
        deals = deals.filter(owner=filters.owner)
    if filters.stage:
        deals = deals.filter(stage=filters.stage)
    if filters.close_from:
        deals = deals.filter(close_date__gte=filters.close_from)
    if filters.close_to:
        deals = deals.filter(close_date__lte=filters.close_to)
    if filters.search:
        deals = deals.filter(
            Q(name__icontains=filters.search) | Q(account__name__icontains=filters.search)
        )
    return deals


def pipeline_stage_deals(*, deals: QuerySet[Deal], stage: str) -> QuerySet[Deal]:
    """One stage's deals, the soonest close first (deals without a close date last)."""
    return deals.filter(stage=stage).order_by(F("close_date").asc(nulls_last=True), "name", "id")


def pipeline_totals(*, deals: QuerySet[Deal]) -> dict[str, StageTotal]:
    """Per stage: how many deals and their amounts summed per currency. One query."""
    rows = (
        deals.order_by()
        .values("stage", "currency")
        .annotate(count=Count("id"), total=Sum("amount"))
        .order_by("stage", "currency")
    )
    counts: dict[str, int] = {}
    amounts: dict[str, list[tuple[str, Decimal]]] = {}
    for row in rows:
        counts[row["stage"]] = counts.get(row["stage"], 0) + row["count"]
        if row["total"] is not None:
            amounts.setdefault(row["stage"], []).append((row["currency"], row["total"]))
    labels = dict(Stage.choices)
    return {
        stage: StageTotal(
            stage=stage,
            label=labels[stage],
            count=counts.get(stage, 0),
            amounts=amounts.get(stage, []),
        )
        for stage in PIPELINE_STAGES
    }


# A deal's history (the deal page) --------------------------------------------------------


@dataclass(frozen=True)
class HistoryEntry:
    """A stage change or a field change, for one merged timeline."""

    at: dt.datetime
    kind: str  # "stage" or "field"
    change: StageChange | DealFieldChange

    @property
    def field_label(self) -> str:
        name = getattr(self.change, "field", "")
        return name.replace("_", " ").capitalize()


def deal_history(*, deal: Deal, page: int, per_page: int) -> tuple[list[HistoryEntry], int]:
    """Page ``page`` (from 1) of the deal's stage and field changes, newest first, and how
    many there are. Four queries whatever the page: each table gives at most the rows the
    page could need, and the two are merged."""
    upto = page * per_page
    stages = deal.stage_changes.select_related("actor").order_by("-occurred_at", "-id")
    fields = deal.field_changes.select_related("actor").order_by("-occurred_at", "-id")
    entries = sorted(
        chain(
            (HistoryEntry(at=c.occurred_at, kind="stage", change=c) for c in stages[:upto]),
            (HistoryEntry(at=c.occurred_at, kind="field", change=c) for c in fields[:upto]),
        ),
        key=lambda entry: entry.at,
        reverse=True,
    )
    return entries[upto - per_page : upto], stages.count() + fields.count()
