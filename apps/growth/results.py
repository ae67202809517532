"""What growth brought in: the referral funnel and the expansion pipeline, overall and by
month or segment. A few grouped queries each, whatever the number of rows.

The referral funnel follows the asks of a period (a cohort): how many were asked, opened
their link, sent a referral, became a deal and were won, with the conversion rate
(won ÷ referrals sent), the referred revenue and the median days from referral to won.
The expansion pipeline follows the expansion deals playbook steps opened: prompted, still
open (and their amount), won (and the revenue attributed to the step) and lost.
Revenue is summed per currency; a figure never adds euros to dollars.
"""

import datetime as dt
import statistics
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import Count, F, Q, QuerySet, Sum
from django.db.models.functions import TruncMonth

from apps.deals.models import OPEN_STAGES, Stage
from apps.growth.models import ExpansionDeal, Referral, ReferralRequest

BY = ("month", "segment")
PIPELINE_BY = ("step", "month", "segment")
FUNNEL_STAGES = (
    ("asked", "Asked"),
    ("opened", "Link opened"),
    ("submitted", "Referral sent"),
    ("deals", "Deal opened"),
    ("won", "Won"),
)


@dataclass(frozen=True)
class ResultFilters:
    since: dt.date | None = None
    until: dt.date | None = None
    segment: str = ""


def _period(rows: QuerySet, field: str, filters: ResultFilters) -> QuerySet:
    if filters.since:
        rows = rows.filter(**{f"{field}__date__gte": filters.since})
    if filters.until:
        rows = rows.filter(**{f"{field}__date__lte": filters.until})
    return rows


def _group(by: str | None, *, moment: str, segment: str) -> dict[str, Any]:
    if by == "month":
        return {"group": TruncMonth(moment)}
    if by == "segment":
        return {"group": F(segment)}
    return {}


def _grouped(rows: QuerySet, group: dict[str, Any], **figures: Any) -> list[dict[str, Any]]:
    """``figures`` per group, or the one overall row when there is no group."""
    if not group:
        return [rows.aggregate(**figures)]
    return list(rows.annotate(**group).values(*group).annotate(**figures))


def _label(value: Any) -> str:
    if isinstance(value, dt.datetime | dt.date):
        return value.strftime("%Y-%m")
    return value or "(none)"


def _money(per_currency: dict[str, Decimal]) -> dict[str, str]:
    return {
        currency: f"{amount:.2f}" for currency, amount in sorted(per_currency.items()) if amount
    }


def referral_funnel(filters: ResultFilters, *, by: str | None = None) -> list[dict[str, Any]]:
    """One row overall, or one per month of the ask or per segment of the referrer."""
    asks = ReferralRequest.objects.filter(status=ReferralRequest.Status.ASKED)
    asks = _period(asks, "created_at", filters)
    referrals = _period(Referral.objects.all(), "request__created_at", filters)
    if filters.segment:
        asks = asks.filter(account__segment=filters.segment)
        referrals = referrals.filter(referrer_account__segment=filters.segment)
    rows: dict[Any, dict[str, Any]] = defaultdict(
        lambda: {"asked": 0, "opened": 0, "submitted": 0, "deals": 0, "won": 0}
    )
    group = _group(by, moment="created_at", segment="account__segment")
    for row in _grouped(
        asks, group, asked=Count("id"), opened=Count("id", filter=Q(opened_at__isnull=False))
    ):
        rows[row.get("group")].update(asked=row["asked"], opened=row["opened"])
    group = _group(by, moment="request__created_at", segment="referrer_account__segment")
    for row in _grouped(
        referrals,
        group,
        submitted=Count("id"),
        deals=Count("id", filter=Q(deal__isnull=False)),
        won=Count("id", filter=Q(converted_at__isnull=False)),
    ):
        rows[row.get("group")].update(
            submitted=row["submitted"], deals=row["deals"], won=row["won"]
        )
    revenue: dict[Any, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    days: dict[Any, list[float]] = defaultdict(list)
    for row in (
        referrals.filter(converted_at__isnull=False)
        .annotate(**group)
        .values(*group, "won_amount", "deal__currency", "submitted_at", "converted_at")
    ):
        key = row.get("group")
        revenue[key][row["deal__currency"] or "?"] += row["won_amount"] or Decimal("0")
        days[key].append((row["converted_at"] - row["submitted_at"]).total_seconds() / 86400)
    if not rows and by is None:
        rows[None]  # the overall row, all zeros
    result = []
    for key in sorted(rows, key=lambda k: (k is None, str(k))):
        row = rows[key]
        result.append(
            {
                "group": _label(key) if by else "All",
                **row,
                "conversion_rate": round(100 * row["won"] / row["submitted"], 1)
                if row["submitted"]
                else None,
                "revenue": _money(revenue[key]),
                "median_days_to_convert": round(statistics.median(days[key]), 1)
                if days[key]
                else None,
            }
        )
    return result


def expansion_pipeline(filters: ResultFilters, *, by: str = "step") -> list[dict[str, Any]]:
    """Expansion deals opened by playbook steps, by step (playbook, version, step), by
    month they were opened, or by the account's segment."""
    rows = _period(ExpansionDeal.objects.all(), "created_at", filters)
    if filters.segment:
        rows = rows.filter(deal__account__segment=filters.segment)
    if by == "step":
        keys = ("playbook__name", "version_number", "step_key")
        rows = rows.values(*keys)
    else:
        group = _group(by, moment="created_at", segment="deal__account__segment")
        keys = ("group",)
        rows = rows.annotate(**group).values(*keys)
    open_q = Q(deal__stage__in=OPEN_STAGES)
    figures: dict[tuple, dict[str, Any]] = {}
    for row in rows.annotate(currency=F("deal__currency")).annotate(
        prompted=Count("id"),
        open=Count("id", filter=open_q),
        won=Count("id", filter=Q(won_at__isnull=False)),
        lost=Count("id", filter=Q(deal__stage=Stage.CLOSED_LOST)),
        pipeline=Sum("deal__amount", filter=open_q),
        won_revenue=Sum("won_amount", filter=Q(won_at__isnull=False)),
    ):
        key = tuple(row[k] for k in keys)
        into = figures.setdefault(
            key,
            {
                "prompted": 0,
                "open": 0,
                "won": 0,
                "lost": 0,
                "pipeline": defaultdict(Decimal),
                "won_revenue": defaultdict(Decimal),
            },
        )
        for name in ("prompted", "open", "won", "lost"):
            into[name] += row[name]
        currency = row["currency"] or "?"
        into["pipeline"][currency] += row["pipeline"] or Decimal("0")
        into["won_revenue"][currency] += row["won_revenue"] or Decimal("0")
    result = []
    for key in sorted(figures, key=lambda k: tuple(str(v) for v in k)):
        row = figures[key]
        if by == "step":
            playbook, version, step = key
            label = {"playbook": playbook or "(deleted)", "version": version, "step": step}
        else:
            label = {"group": _label(key[0])}
        result.append(
            {
                **label,
                **{name: row[name] for name in ("prompted", "open", "won", "lost")},
                "win_rate": round(100 * row["won"] / (row["won"] + row["lost"]), 1)
                if row["won"] + row["lost"]
                else None,
                "pipeline": _money(row["pipeline"]),
                "won_revenue": _money(row["won_revenue"]),
            }
        )
    return result
