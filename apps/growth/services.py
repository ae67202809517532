"""Usage signals: snapshots in, threshold crossings out.

A batch is all or nothing: a row with an error stores nothing, and the error names the
row and the field. A snapshot sent again (same account, product and moment) is counted
as a duplicate and changes nothing. A snapshot that is the newest for its account and
product and takes utilisation from below the product's threshold to at or above it raises
``account.usage_threshold_crossed``, once per crossing: the snapshots above it that follow
raise nothing until utilisation has dropped below again.
"""

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F, QuerySet, Window
from django.db.models.functions import RowNumber
from django.utils.dateparse import parse_datetime

from apps.core.errors import ValidationFailed
from apps.core.events import EventSpec, events_emit_many
from apps.customers.models import Account, Product
from apps.growth.models import ExpansionDeal, UsageSnapshot, UsageThreshold

MAX_BATCH = 1000


@dataclass(frozen=True)
class UsageResult:
    created: int
    duplicates: int
    crossings: int


def default_threshold() -> Decimal:
    return Decimal(str(getattr(settings, "GROWTH_USAGE_THRESHOLD_PERCENT", 80)))


# Larger numbers than the columns hold are refused here: the database would raise on them.
MAX_ID = 2**63 - 1
MAX_UNITS = 2**31 - 1  # PositiveIntegerField


def _whole(value: Any, maximum: int = MAX_ID) -> int | None:
    if isinstance(value, bool):
        return None
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    if not number.is_finite() or number != number.to_integral_value():
        return None
    return int(number) if 0 <= number <= maximum else None


def _moment(value: Any) -> Any:
    """``value`` as a datetime if it is one or an ISO 8601 string of one, else None."""
    if not isinstance(value, str):
        return value
    try:
        return parse_datetime(value)
    except ValueError:  # well-formed but impossible, e.g. minute 99
        return None


def _parse(items: list[Any]) -> tuple[list[UsageSnapshot], dict[str, list[str]]]:
    """The snapshots ``items`` describe, or the errors keyed "<row>.<field>" (rows from 0)."""
    errors: dict[str, list[str]] = {}
    rows = [item if isinstance(item, dict) else {} for item in items]
    account_ids = {_whole(row.get("account")) for row in rows} - {None}
    accounts = Account.objects.in_bulk(account_ids)
    skus = {str(row["product"]) for row in rows if isinstance(row.get("product"), str)}
    product_ids = {_whole(row.get("product")) for row in rows} - {None}
    products = Product.objects.in_bulk(product_ids)
    by_sku = Product.objects.in_bulk(skus, field_name="sku")
    snapshots = []
    for index, (item, row) in enumerate(zip(items, rows, strict=True)):
        problems: dict[str, str] = {}
        if not isinstance(item, dict):
            errors[f"{index}"] = [
                "Each snapshot is an object with account, product, "
                "measured_at, licensed_units and used_units."
            ]
            continue
        account = accounts.get(_whole(row.get("account")))
        if account is None:
            problems["account"] = f"There is no account with id {row.get('account')!r}."
        product = by_sku.get(str(row.get("product"))) or products.get(_whole(row.get("product")))
        if product is None:
            problems["product"] = f"There is no product with the id or SKU {row.get('product')!r}."
        moment = _moment(row.get("measured_at"))
        if not isinstance(moment, dt.datetime):
            problems["measured_at"] = "Give the moment as ISO 8601, e.g. 2026-11-30T09:00:00Z."
        elif moment.tzinfo is None:
            problems["measured_at"] = "Include the time zone, e.g. 2026-11-30T09:00:00Z."
        licensed = _whole(row.get("licensed_units"), MAX_UNITS)
        used = _whole(row.get("used_units"), MAX_UNITS)
        if licensed is None:
            problems["licensed_units"] = f"A whole number from 0 to {MAX_UNITS}."
        if used is None:
            problems["used_units"] = f"A whole number from 0 to {MAX_UNITS}."
        if problems:
            errors.update({f"{index}.{field}": [message] for field, message in problems.items()})
            continue
        snapshots.append(
            UsageSnapshot(
                account=account,
                product=product,
                measured_at=moment,
                licensed_units=licensed,
                used_units=used,
            )
        )
    return snapshots, errors


def _above(snapshot: UsageSnapshot, thresholds: dict[int, Decimal]) -> bool:
    utilisation = snapshot.utilisation
    limit = thresholds.get(snapshot.product_id, default_threshold())
    return utilisation is not None and utilisation >= limit


@transaction.atomic
def usage_record_many(*, items: list[Any]) -> UsageResult:
    """Store usage snapshots (at most ``MAX_BATCH``), all or none; see the module text."""
    if not isinstance(items, list) or not items:
        raise ValidationFailed("Send one snapshot or a list of them.", {"snapshots": ["Empty."]})
    if len(items) > MAX_BATCH:
        raise ValidationFailed(
            "Too many snapshots.",
            {"snapshots": [f"Send at most {MAX_BATCH} at a time; this had {len(items)}."]},
        )
    snapshots, errors = _parse(items)
    if errors:
        raise ValidationFailed("Some snapshots are not valid; none was stored.", errors)
    keys = {(s.account_id, s.product_id, s.measured_at) for s in snapshots}
    existing = set(
        UsageSnapshot.objects.filter(
            account_id__in={k[0] for k in keys}, product_id__in={k[1] for k in keys}
        )
        .filter(measured_at__in={k[2] for k in keys})
        .values_list("account_id", "product_id", "measured_at")
    )
    fresh, seen = [], set()
    for snapshot in sorted(snapshots, key=lambda s: s.measured_at):
        key = (snapshot.account_id, snapshot.product_id, snapshot.measured_at)
        if key in existing or key in seen:
            continue
        seen.add(key)
        fresh.append(snapshot)
    crossings = _crossings(fresh)
    UsageSnapshot.objects.bulk_create(fresh)
    events_emit_many(
        events=[
            EventSpec(
                name="account.usage_threshold_crossed",
                aggregate_type="account",
                aggregate_id=s.account_id,
                payload={
                    "account_id": s.account_id,
                    "product_id": s.product_id,
                    "sku": s.product.sku,
                    "family": s.product.family.name,
                    "used_units": s.used_units,
                    "licensed_units": s.licensed_units,
                    "utilisation": float(s.utilisation or 0),
                    "measured_at": s.measured_at.isoformat(),
                },
            )
            for s in crossings
        ]
    )
    return UsageResult(
        created=len(fresh), duplicates=len(snapshots) - len(fresh), crossings=len(crossings)
    )


def latest_snapshots(snapshots: QuerySet[UsageSnapshot]) -> QuerySet[UsageSnapshot]:
    """Of ``snapshots``, the newest of each (account, product) pair, in one query."""
    newest_first = Window(
        RowNumber(),
        partition_by=[F("account_id"), F("product_id")],
        order_by=F("measured_at").desc(),
    )
    return snapshots.annotate(rank=newest_first).filter(rank=1)


def _latest_stored(pairs: set[tuple[int, int]]) -> dict[tuple[int, int], UsageSnapshot]:
    if not pairs:
        return {}
    rows = latest_snapshots(
        UsageSnapshot.objects.filter(
            account_id__in={a for a, _ in pairs}, product_id__in={p for _, p in pairs}
        )
    )
    return {(r.account_id, r.product_id): r for r in rows if (r.account_id, r.product_id) in pairs}


def _crossings(fresh: list[UsageSnapshot]) -> list[UsageSnapshot]:
    """The new snapshots that cross upward; marks them. Only a snapshot newer than every
    stored one for its pair counts: one arriving late for a past moment raises nothing."""
    thresholds = dict(
        UsageThreshold.objects.filter(product_id__in={s.product_id for s in fresh}).values_list(
            "product_id", "percent"
        )
    )
    latest = _latest_stored({(s.account_id, s.product_id) for s in fresh})
    crossed = []
    for snapshot in fresh:  # oldest first
        pair = (snapshot.account_id, snapshot.product_id)
        before = latest.get(pair)
        if before is not None and before.measured_at > snapshot.measured_at:
            continue  # a late arrival for the past
        if _above(snapshot, thresholds) and (before is None or not _above(before, thresholds)):
            snapshot.crossed = True
            crossed.append(snapshot)
        latest[pair] = snapshot
    return crossed


def expansion_won(event: Any) -> None:
    expansions_won([event])


def expansions_won(events: list[Any]) -> None:
    """``deal.closed_won``: an expansion deal a step opened records what it won, for the
    attribution to its playbook and step (once; a repeated event changes nothing). One
    query for a batch of closes that opened no expansion deal, which is most of them."""
    won_at = {(e.payload or {}).get("deal_id"): e.occurred_at for e in events}
    for expansion in ExpansionDeal.objects.filter(
        deal_id__in=[deal_id for deal_id in won_at if deal_id], won_at__isnull=True
    ).select_related("deal"):
        expansion.won_at, expansion.won_amount = won_at[expansion.deal_id], expansion.deal.amount
        expansion.save(update_fields=["won_at", "won_amount"])
