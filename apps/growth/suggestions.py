"""What an account could buy next: cross-sell rules over what it owns, and products whose
usage crossed their threshold. Each suggestion says why."""

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Min

from apps.customers.models import Account, Product
from apps.deals.models import Deal, DealLineItem, Stage
from apps.growth.models import CrossSellRule, UsageSnapshot, UsageThreshold
from apps.growth.services import default_threshold, latest_snapshots

CLOSED = (Stage.CLOSED_WON, Stage.CLOSED_LOST)
TIER_ORDER = {Account.Tier.SMB: 0, Account.Tier.MID_MARKET: 1, Account.Tier.ENTERPRISE: 2}


@dataclass(frozen=True)
class Suggestion:
    family: str
    product: Product
    quantity: int
    reason: str


def rule_fits(
    rule: CrossSellRule,
    *,
    account: Account,
    customer_since: dt.datetime | None,
    now: dt.datetime,
) -> bool:
    """Whether the account is large enough and a customer for long enough for ``rule``."""
    if rule.min_tier and TIER_ORDER[account.tier] < TIER_ORDER[rule.min_tier]:
        return False
    return not rule.min_customer_days or (
        customer_since is not None
        and now - customer_since >= dt.timedelta(days=rule.min_customer_days)
    )


def usage_suggestion(snapshot: UsageSnapshot, threshold: Decimal | None) -> Suggestion | None:
    """A quarter more units of the snapshot's product when its utilisation is at or over
    ``threshold`` (the default when None), with the numbers as the reason."""
    limit = default_threshold() if threshold is None else threshold
    utilisation = snapshot.utilisation
    if utilisation is None or utilisation < limit:
        return None
    extra = max(1, (snapshot.licensed_units * 25 + 99) // 100)  # a quarter more
    return Suggestion(
        snapshot.product.family.name,
        snapshot.product,
        extra,
        f"{snapshot.product.name} at {utilisation} % of {snapshot.licensed_units} licensed "
        f"units (threshold {limit.normalize():f} %): {extra} more.",
    )


@dataclass(frozen=True)
class OpenDeal:
    id: int
    name: str


@dataclass(frozen=True)
class Holdings:
    """What a set of accounts has bought and is buying, by family name."""

    owned: dict[int, set[str]]
    open_deals: dict[int, dict[str, list[OpenDeal]]]
    customer_since: dict[int, dt.datetime]


def holdings_for_many(account_ids: Iterable[int]) -> Holdings:
    """Owned families, families in open deals and the first win of each account: three
    queries for any number of accounts."""
    ids = set(account_ids)
    owned: dict[int, set[str]] = defaultdict(set)
    for account_id, family in (
        DealLineItem.objects.filter(deal__account_id__in=ids, deal__stage=Stage.CLOSED_WON)
        .values_list("deal__account_id", "product__family__name")
        .order_by()
        .distinct()
    ):
        owned[account_id].add(family)
    open_deals: dict[int, dict[str, list[OpenDeal]]] = defaultdict(lambda: defaultdict(list))
    for account_id, family, deal_id, deal_name in (
        DealLineItem.objects.filter(deal__account_id__in=ids)
        .exclude(deal__stage__in=CLOSED)
        .values_list("deal__account_id", "product__family__name", "deal_id", "deal__name")
        .order_by("deal_id")
        .distinct()
    ):
        open_deals[account_id][family].append(OpenDeal(id=deal_id, name=deal_name))
    customer_since = dict(
        Deal.objects.filter(account_id__in=ids, stage=Stage.CLOSED_WON)
        .order_by()
        .values("account_id")
        .annotate(first=Min("closed_at"))
        .values_list("account_id", "first")
    )
    return Holdings(owned=owned, open_deals=open_deals, customer_since=customer_since)


def _offers(family_ids: set[int]) -> dict[int, Product]:
    """Each family's entry product: the cheapest active one."""
    offers: dict[int, Product] = {}
    for product in Product.objects.filter(family_id__in=family_ids, active=True).order_by(
        "list_price", "pk"
    ):
        offers.setdefault(product.family_id, product)
    return offers


def suggestions_for_many(
    accounts: Sequence[Account], *, now: dt.datetime, holdings: Holdings | None = None
) -> dict[int, list[Suggestion]]:
    """The suggestions of each account, by account id, in a fixed number of queries
    (pass ``holdings`` when they are already read)."""
    ids = [account.pk for account in accounts]
    if holdings is None:
        holdings = holdings_for_many(ids)
    rules = list(
        CrossSellRule.objects.filter(active=True).select_related("owns_family", "suggest_family")
    )
    offers = _offers({rule.suggest_family_id for rule in rules}) if rules and ids else {}
    found: dict[int, dict[str, Suggestion]] = {account.pk: {} for account in accounts}
    for account in accounts:
        owned = holdings.owned.get(account.pk, set())
        busy = holdings.open_deals.get(account.pk, {})
        since = holdings.customer_since.get(account.pk)
        for rule in rules:
            family = rule.suggest_family.name
            if rule.owns_family.name not in owned or family in owned or family in busy:
                continue
            if not rule_fits(rule, account=account, customer_since=since, now=now):
                continue
            product = offers.get(rule.suggest_family_id)
            if product is not None and family not in found[account.pk]:
                found[account.pk][family] = Suggestion(family, product, 1, rule.reason)
    latest = (
        list(
            latest_snapshots(UsageSnapshot.objects.filter(account_id__in=ids)).select_related(
                "product__family"
            )
        )
        if ids
        else []
    )
    thresholds = (
        dict(
            UsageThreshold.objects.filter(
                product_id__in={s.product_id for s in latest}
            ).values_list("product_id", "percent")
        )
        if latest
        else {}
    )
    for snapshot in latest:
        family = snapshot.product.family.name
        chosen = found[snapshot.account_id]
        if family in holdings.open_deals.get(snapshot.account_id, {}) or family in chosen:
            continue
        suggestion = usage_suggestion(snapshot, thresholds.get(snapshot.product_id))
        if suggestion is not None:
            chosen[family] = suggestion
    return {
        account_id: sorted(by_family.values(), key=lambda s: s.family)
        for account_id, by_family in found.items()
    }


def suggestions_for(account: Account, *, now: dt.datetime) -> list[Suggestion]:
    """Cross-sell and usage suggestions, one per product family, leaving out families
    that already have an open deal."""
    return suggestions_for_many([account], now=now)[account.pk]


def suggested_amount(suggestions: list[Suggestion]) -> Decimal:
    return sum((s.product.list_price * s.quantity for s in suggestions), Decimal("0"))
