"""Playbook filters: which accounts and deals a playbook enrolls. Plain data, evaluated
in Python. A trigger may add filters over its event's payload (the stage a deal entered)."""

from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from typing import Any

from apps.core.event_registry import PayloadFilter

FILTER_KEYS = {
    "deal_kinds": "list of deal kinds (new_business, expansion, renewal)",
    "account_tiers": "list of account tiers (enterprise, mid_market, smb)",
    "account_segments": "list of account segments",
    "countries": "list of ISO country codes",
    "products_bought": "list of product SKUs the deal must include (any of them)",
    "products_not_bought": "list of product SKUs the deal must not include",
    "product_families": "list of product family names the deal must include (any of them)",
    "min_amount": "smallest deal amount",
    "max_amount": "largest deal amount",
}


# Filters that read the deal: they cannot hold for an enrollment without one.
DEAL_FILTERS = (
    "deal_kinds",
    "products_bought",
    "products_not_bought",
    "product_families",
    "min_amount",
    "max_amount",
)


def filters_problems(
    filters: Any, *, payload_filters: Iterable[PayloadFilter] = ()
) -> dict[str, list[str]]:
    if not isinstance(filters, dict):
        return {"filters": ['Filters must be an object such as {"deal_kinds": ["new_business"]}.']}
    problems: dict[str, list[str]] = {}
    extra = {f.key: f for f in payload_filters}
    known = [*FILTER_KEYS, *extra]
    for key, value in filters.items():
        if key in extra:
            allowed = {value for value, _ in extra[key].choices}
            if not isinstance(value, list):
                problems.setdefault("filters", []).append(f"“{key}” must be a list.")
            elif allowed and set(map(str, value)) - allowed:
                problems.setdefault("filters", []).append(
                    f"“{key}” takes values from: {', '.join(sorted(allowed))}."
                )
        elif key not in FILTER_KEYS:
            problems.setdefault("filters", []).append(
                f"Unknown filter “{key}” for this trigger; known filters: {', '.join(known)}."
            )
        elif key in ("min_amount", "max_amount"):
            try:
                Decimal(str(value))
            except InvalidOperation:
                problems.setdefault("filters", []).append(f"“{key}” must be a number.")
        elif not isinstance(value, list):
            problems.setdefault("filters", []).append(f"“{key}” must be a list.")
    return problems


def filters_match(
    filters: dict[str, Any],
    *,
    account: Any,
    deal: Any | None,
    payload: dict[str, Any] | None = None,
    payload_filters: Iterable[PayloadFilter] = (),
) -> bool:
    for payload_filter in payload_filters:
        wanted = filters.get(payload_filter.key)
        if wanted and (payload or {}).get(payload_filter.payload_field) not in wanted:
            return False
    checks = {
        "account_tiers": account.tier,
        "account_segments": account.segment,
        "countries": account.country,
    }
    for key, actual in checks.items():
        if filters.get(key) and actual not in filters[key]:
            return False
    if deal is None:
        return not any(key in filters and filters[key] not in ([], "") for key in DEAL_FILTERS)
    if filters.get("deal_kinds") and deal.kind not in filters["deal_kinds"]:
        return False
    if any(filters.get(k) for k in ("products_bought", "products_not_bought", "product_families")):
        bought = list(deal.line_items.values_list("product__sku", "product__family__name"))
        skus, families = {sku for sku, _ in bought}, {family for _, family in bought}
        if filters.get("products_bought") and not skus & set(filters["products_bought"]):
            return False
        if skus & set(filters.get("products_not_bought") or []):
            return False
        if filters.get("product_families") and not families & set(filters["product_families"]):
            return False
    amount = deal.amount or Decimal("0")
    if "min_amount" in filters and amount < Decimal(str(filters["min_amount"])):
        return False
    return not ("max_amount" in filters and amount > Decimal(str(filters["max_amount"])))
