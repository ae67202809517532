import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import chain
from typing import Any

from django.db import NotSupportedError
from django.db.models import (
    Count,
    DateField,
    F,
    FloatField,
    Func,
    Max,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Sum,
)
from django.db.models.functions import Cast

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


# ARR and renewal ------------------------------------------------------------------------
#
# A won deal is a contract that runs ``term_months`` from its close date. While it runs it
# brings amount × 12 / term_months a year; the account's renewal is the latest end among
# its won deals. Amounts are never converted between currencies: an account's deals are
# in one currency in practice, and where they are not each currency is its own sum.


class ContractEnd(Func):
    """close_date + term_months months, as a date, in SQL (PostgreSQL or SQLite)."""

    output_field = DateField()

    def __init__(self, close_date="close_date", term_months="term_months") -> None:
        super().__init__(F(close_date), F(term_months))

    def as_sql(self, compiler, connection, **extra):
        date_sql, date_params = compiler.compile(self.source_expressions[0])
        months_sql, months_params = compiler.compile(self.source_expressions[1])
        if connection.vendor == "postgresql":
            sql = f"CAST({date_sql} + make_interval(months => {months_sql}::integer) AS date)"
        elif connection.vendor == "sqlite":
            sql = f"date({date_sql}, '+' || {months_sql} || ' months')"
        else:
            raise NotSupportedError(f"ContractEnd has no SQL for {connection.vendor}.")
        return sql, (*date_params, *months_params)


def won_contracts() -> QuerySet[Deal]:
    """Won deals with a close date, each with the day its term ends (``ends_on``)."""
    return Deal.objects.filter(stage=Stage.CLOSED_WON, close_date__isnull=False).annotate(
        ends_on=ContractEnd()
    )


@dataclass
class AccountRevenue:
    """An account's annual recurring revenue per currency and its renewal date."""

    arr: dict[str, Decimal] = field(default_factory=dict)
    renewal_date: dt.date | None = None


def account_revenue(*, account_ids: Iterable[int], today: dt.date) -> dict[int, AccountRevenue]:
    """ARR (per currency) and renewal date of each account, in one query. Accounts with no
    won deal are absent from the answer."""
    found: dict[int, AccountRevenue] = {}
    rows = (
        won_contracts()
        .filter(account_id__in=list(account_ids))
        .values_list("account_id", "currency", "amount", "term_months", "close_date", "ends_on")
    )
    for account_id, currency, amount, term, close_date, ends_on in rows:
        revenue = found.setdefault(account_id, AccountRevenue())
        if revenue.renewal_date is None or ends_on > revenue.renewal_date:
            revenue.renewal_date = ends_on
        if amount is not None and close_date <= today < ends_on:
            yearly = (amount * 12 / term).quantize(Decimal("0.01"))
            revenue.arr[currency] = revenue.arr.get(currency, Decimal("0")) + yearly
    return found


def with_arr_and_renewal(accounts: QuerySet, *, today: dt.date) -> QuerySet:
    """``accounts`` annotated for sorting and filtering: ``renewal_date`` (the latest end of
    a won deal) and ``arr_total`` (the running contracts' yearly amounts added whatever
    their currency: a sort key, shown per currency by ``account_revenue``)."""
    mine = won_contracts().filter(account_id=OuterRef("pk")).order_by().values("account_id")
    renewal = mine.annotate(latest=Max("ends_on")).values("latest")
    yearly = Cast("amount", FloatField()) * 12 / Cast("term_months", FloatField())
    arr = (
        mine.filter(close_date__lte=today, ends_on__gt=today)
        .annotate(total=Sum(yearly))
        .values("total")
    )
    return accounts.annotate(
        renewal_date=Subquery(renewal, output_field=DateField()),
        arr_total=Subquery(arr, output_field=FloatField()),
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
