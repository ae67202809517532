"""Reads other apps use: the health of many accounts for a list, one account's score with
each factor's value, contribution and explanation, and its daily history.

A list filtered or sorted by health reads the reverse one-to-one directly:
``Account.objects.filter(health__band="red").order_by("health__score")`` (an account
never computed has no ``health`` row)."""

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from apps.core import clock
from apps.customers.models import Account
from apps.health.charts import HistoryChart, history_chart
from apps.health.models import AccountHealth, Band, HealthSettings, HealthSnapshot


def health_for_accounts(*, account_ids: Iterable[int]) -> dict[int, AccountHealth]:
    """The stored health of each account that has one, by account id (one query).
    Accounts never computed are missing from the result."""
    ids = list(set(account_ids))
    if not ids:
        return {}
    return {h.account_id: h for h in AccountHealth.objects.filter(account_id__in=ids)}


@dataclass(frozen=True)
class FactorLine:
    key: str
    label: str
    has_data: bool
    raw: float | None
    value: str  # the raw value as read: "3 overdue tasks", "passive (8)", "no answer yet"
    points: float | None  # 0–100, None when left out
    weight: float  # as configured
    share: float  # % of the score it carries after redistribution
    contribution: float  # points it adds to the score; the contributions sum to the score
    why: str


@dataclass(frozen=True)
class HealthDetail:
    score: int | None
    band: str
    band_label: str
    computed_at: dt.datetime | None
    factors: list[FactorLine]
    stored: bool  # False: never computed for this account, and the lines are empty


def _line(item: dict) -> FactorLine:
    return FactorLine(
        key=item.get("key", ""),
        label=item.get("label", ""),
        has_data=bool(item.get("has_data")),
        raw=item.get("raw"),
        value=item.get("value", ""),
        points=item.get("points"),
        weight=float(item.get("weight") or 0),
        share=float(item.get("share") or 0),
        contribution=float(item.get("contribution") or 0),
        why=item.get("why", ""),
    )


def health_detail_of(health: AccountHealth | None) -> HealthDetail:
    """The detail of a stored health row (no query)."""
    if health is None:
        return HealthDetail(
            score=None,
            band=Band.UNKNOWN,
            band_label="Not computed yet",
            computed_at=None,
            factors=[],
            stored=False,
        )
    return HealthDetail(
        score=health.score,
        band=health.band,
        band_label=Band(health.band).label if health.band in Band.values else health.band,
        computed_at=health.computed_at,
        factors=[_line(item) for item in health.factors or []],
        stored=True,
    )


def account_health_detail(*, account: Account) -> HealthDetail:
    """Score, band and each factor's label, raw value, explanation, weight and
    contribution, as last computed (one query)."""
    return health_detail_of(AccountHealth.objects.filter(account_id=account.pk).first())


def health_history(*, account: Account, days: int = 90) -> list[HealthSnapshot]:
    """The account's daily snapshots of the last ``days`` days, oldest first (one query)."""
    since = clock.now().date() - dt.timedelta(days=days)
    return list(
        HealthSnapshot.objects.filter(account_id=account.pk, date__gt=since).order_by("date")
    )


@dataclass(frozen=True)
class HealthPanel:
    """What ``templates/health/_account_health.html`` draws."""

    detail: HealthDetail
    chart: HistoryChart | None
    days: int


def account_health_panel(*, account: Account, days: int = 90) -> HealthPanel:
    """The account page's health section: the detail and the history chart (three
    queries: the health row, the snapshots, the thresholds)."""
    return HealthPanel(
        detail=account_health_detail(account=account),
        chart=history_chart(
            health_history(account=account, days=days), thresholds=HealthSettings.current()
        ),
        days=days,
    )
