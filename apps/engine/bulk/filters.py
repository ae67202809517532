"""The filter of a bulk enrollment: which existing accounts it enrolls.

The JSON form (API, stored on the run) and the typed form (``AccountFilter``); reading
the one into the other checks every value and names every bad field.
"""

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model

from apps.core.errors import ValidationFailed
from apps.customers.models import Account, Product


@dataclass(frozen=True)
class AccountFilter:
    """Which accounts a bulk run enrolls. An empty field does not filter; a field with
    several values matches any of them."""

    lifecycle_status: tuple[str, ...] = ()
    tier: tuple[str, ...] = ()
    segment: tuple[str, ...] = ()
    country: tuple[str, ...] = ()
    csm: tuple[int, ...] = ()  # user ids
    products: tuple[str, ...] = ()  # SKUs bought in any won deal of the account
    customer_since_from: dt.date | None = None
    customer_since_to: dt.date | None = None

    def as_data(self) -> dict[str, Any]:
        """The JSON form (only the fields that filter), as the API takes it."""
        data: dict[str, Any] = {}
        for name in FILTER_FIELDS:
            value = getattr(self, name)
            if isinstance(value, dt.date):
                data[name] = value.isoformat()
            elif value:
                data[name] = list(value)
        return data


FILTER_FIELDS = {
    "lifecycle_status": "lifecycle statuses",
    "tier": "account tiers",
    "segment": "account segments",
    "country": "ISO country codes",
    "csm": "user ids of CSMs",
    "products": "product SKUs bought in a won deal",
    "customer_since_from": "earliest won deal closed on or after (YYYY-MM-DD)",
    "customer_since_to": "earliest won deal closed on or before (YYYY-MM-DD)",
}
ENROLLABLE_LIFECYCLES = [s for s in Account.Lifecycle.values if s != Account.Lifecycle.CHURNED]


def _as_list(value: Any) -> list[Any]:
    if value in (None, "", []):
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def _choices_problem(values: list[Any], allowed: list[str], what: str) -> str | None:
    unknown = [str(v) for v in values if v not in allowed]
    if unknown:
        return f"Unknown {what} “{'”, “'.join(unknown)}”; use one of: {', '.join(allowed)}."
    return None


def _date(value: Any) -> dt.date | None:
    if value in (None, ""):
        return None
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value))


def account_filter_from_data(data: Any) -> AccountFilter:
    """Read a filter from its JSON form. Raises ``ValidationFailed`` with every problem,
    keyed ``filters.<field>`` (``filters`` for the shape and unknown fields)."""
    problems: dict[str, list[str]] = {}

    def problem(name: str, message: str) -> None:
        problems.setdefault(f"filters.{name}" if name else "filters", []).append(message)

    if data in (None, ""):
        data = {}
    if not isinstance(data, dict):
        raise ValidationFailed(
            "The filters are not an object.",
            {"filters": ['Filters are an object such as {"tier": ["enterprise"]}.']},
        )
    for key in data:
        if key not in FILTER_FIELDS:
            problem("", f"Unknown filter “{key}”; use: {', '.join(FILTER_FIELDS)}.")
    values = {name: _as_list(data.get(name)) for name in FILTER_FIELDS if "since" not in name}
    for name in ("lifecycle_status", "tier", "segment", "country", "products"):
        if any(not isinstance(v, str) for v in values[name]):
            problem(name, f"Give the {FILTER_FIELDS[name]} as a list of text values.")
            values[name] = []

    if Account.Lifecycle.CHURNED in values["lifecycle_status"]:
        problem(
            "lifecycle_status",
            "Churned accounts are never enrolled: their playbooks were cancelled when they "
            "churned.",
        )
        values["lifecycle_status"] = [
            v for v in values["lifecycle_status"] if v != Account.Lifecycle.CHURNED
        ]
    if message := _choices_problem(
        values["lifecycle_status"], ENROLLABLE_LIFECYCLES, "lifecycle status"
    ):
        problem("lifecycle_status", message)
    if message := _choices_problem(values["tier"], Account.Tier.values, "tier"):
        problem("tier", message)
    countries = [c.upper() for c in values["country"]]
    bad = [c for c in countries if len(c) != 2 or not c.isalpha()]
    if bad:
        problem("country", f"“{'”, “'.join(bad)}”: use two-letter ISO codes such as DE.")
    csm_ids: list[int] = []
    for value in values["csm"]:
        try:
            csm_ids.append(int(value))
        except (TypeError, ValueError):
            problem("csm", f"“{value}” is not a user id.")
    missing = sorted(
        set(csm_ids)
        - set(get_user_model().objects.filter(pk__in=csm_ids).values_list("pk", flat=True))
    )
    if missing:
        problem("csm", f"There is no user with the id {', '.join(map(str, missing))}.")
    skus = values["products"]
    unknown_skus = sorted(
        set(skus) - set(Product.objects.filter(sku__in=skus).values_list("sku", flat=True))
    )
    if unknown_skus:
        problem("products", f"There is no product with the SKU “{'”, “'.join(unknown_skus)}”.")
    dates: dict[str, dt.date | None] = {}
    for name in ("customer_since_from", "customer_since_to"):
        try:
            dates[name] = _date(data.get(name))
        except (TypeError, ValueError):
            problem(name, "Use a date such as 2024-01-31.")
            dates[name] = None
    since, until = dates["customer_since_from"], dates["customer_since_to"]
    if since and until and until < since:
        problem("customer_since_to", "The end of the “customer since” range is before its start.")
    if problems:
        raise ValidationFailed("These filters cannot be used.", problems)
    return AccountFilter(
        lifecycle_status=tuple(values["lifecycle_status"]),
        tier=tuple(values["tier"]),
        segment=tuple(values["segment"]),
        country=tuple(countries),
        csm=tuple(csm_ids),
        products=tuple(skus),
        customer_since_from=since,
        customer_since_to=until,
    )
