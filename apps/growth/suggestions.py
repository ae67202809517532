"""What an account could buy next: cross-sell rules over what it owns, and products whose
usage crossed their threshold. Each suggestion says why."""

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Min

from apps.customers.models import Account, Product
from apps.deals.models import Deal, DealLineItem, Stage
from apps.growth.models import CrossSellRule, UsageSnapshot, UsageThreshold
from apps.growth.services import default_threshold, latest_snapshots

TIER_ORDER = {Account.Tier.SMB: 0, Account.Tier.MID_MARKET: 1, Account.Tier.ENTERPRISE: 2}


@dataclass(frozen=True)
class Suggestion:
    family: str
    product: Product
    quantity: int
    reason: str


def owned_families(account: Account) -> set[str]:
    return set(
        DealLineItem.objects.filter(deal__account=account, deal__stage=Stage.CLOSED_WON)
        .values_list("product__family__name", flat=True)
        .distinct()
    )


def families_in_open_deals(account: Account) -> set[str]:
    return set(
        DealLineItem.objects.filter(deal__account=account)
        .exclude(deal__stage__in=[Stage.CLOSED_WON, Stage.CLOSED_LOST])
        .values_list("product__family__name", flat=True)
        .distinct()
    )


def _customer_since(account: Account) -> dt.datetime | None:
    return Deal.objects.filter(account=account, stage=Stage.CLOSED_WON).aggregate(
        first=Min("closed_at")
    )["first"]


def _offer(family_id: int) -> Product | None:
    """The family's entry product: the cheapest active one."""
    return (
        Product.objects.filter(family_id=family_id, active=True)
        .order_by("list_price", "pk")
        .first()
    )


def suggestions_for(account: Account, *, now: dt.datetime) -> list[Suggestion]:
    """Cross-sell and usage suggestions, one per product family, leaving out families
    that already have an open deal."""
    owned, busy = owned_families(account), families_in_open_deals(account)
    since = _customer_since(account)
    found: dict[str, Suggestion] = {}
    rules = CrossSellRule.objects.filter(active=True).select_related(
        "owns_family", "suggest_family"
    )
    for rule in rules:
        family = rule.suggest_family.name
        if rule.owns_family.name not in owned or family in owned or family in busy:
            continue
        if rule.min_tier and TIER_ORDER[account.tier] < TIER_ORDER[rule.min_tier]:
            continue
        if rule.min_customer_days and (
            since is None or now - since < dt.timedelta(days=rule.min_customer_days)
        ):
            continue
        product = _offer(rule.suggest_family_id)
        if product is not None and family not in found:
            found[family] = Suggestion(family, product, 1, rule.reason)
    latest = list(
        latest_snapshots(UsageSnapshot.objects.filter(account=account)).select_related(
            "product__family"
        )
    )
    thresholds = dict(
        UsageThreshold.objects.filter(product_id__in=[s.product_id for s in latest]).values_list(
            "product_id", "percent"
        )
    )
    for snapshot in latest:
        family = snapshot.product.family.name
        limit = thresholds.get(snapshot.product_id, default_threshold())
        utilisation = snapshot.utilisation
        if utilisation is None or utilisation < limit or family in busy or family in found:
            continue
        extra = max(1, (snapshot.licensed_units * 25 + 99) // 100)  # a quarter more
        found[family] = Suggestion(
            family,
            snapshot.product,
            extra,
            f"{snapshot.product.name} at {utilisation} % of {snapshot.licensed_units} licensed "
            f"units (threshold {limit.normalize()} %): {extra} more.",
        )
    return sorted(found.values(), key=lambda s: s.family)


def suggested_amount(suggestions: list[Suggestion]) -> Decimal:
    return sum((s.product.list_price * s.quantity for s in suggestions), Decimal("0"))
