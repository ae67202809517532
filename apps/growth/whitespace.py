"""The whitespace of a set of customers: for each account and product family, whether the
account owns it, has an open deal for it, could be offered it (a cross-sell rule fits or
usage is over the threshold, with the reason) or none of these.

The suggestions are ``suggestions.suggestions_for_many``'s, read for a whole page of
accounts at once: a fixed number of queries whatever the number of accounts.
"""

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from django.db.models import Exists, OuterRef, QuerySet

from apps.customers.models import Account, ProductFamily
from apps.deals.models import Deal, Stage
from apps.growth.suggestions import (
    OpenDeal,
    holdings_for_many,
    suggestions_for_many,
)


class CellState(StrEnum):
    OPEN_DEAL = "open_deal"
    SUGGESTED = "suggested"
    OWNED = "owned"
    NONE = "none"

    @property
    def label(self) -> str:
        return {
            CellState.OPEN_DEAL: "Open deal",
            CellState.SUGGESTED: "Suggested",
            CellState.OWNED: "Owned",
            CellState.NONE: "",
        }[self]


@dataclass(frozen=True)
class Cell:
    """One account and one family. ``state`` is the most actionable of what holds (an
    open deal, then a suggestion, then ownership); ``owned`` says whether the account
    owns the family whatever the state, since usage suggestions concern owned families."""

    family: str
    state: CellState
    owned: bool = False
    reason: str = ""
    deals: tuple[OpenDeal, ...] = ()

    def summary(self) -> str:
        """The cell as one line of text: the state, and what it rests on."""
        if self.state is CellState.OPEN_DEAL:
            names = "; ".join(f"{deal.name} (#{deal.id})" for deal in self.deals)
            return f"open deal: {names}"
        if self.state is CellState.SUGGESTED:
            owned = " (owned)" if self.owned else ""
            return f"suggested{owned}: {self.reason}"
        if self.state is CellState.OWNED:
            return "owned"
        return ""


@dataclass(frozen=True)
class WhitespaceRow:
    account: Account
    cells: list[Cell]


@dataclass(frozen=True)
class WhitespaceFilters:
    segment: str = ""
    csm_id: int | None = None
    owner_id: int | None = None


def whitespace_accounts(filters: WhitespaceFilters) -> QuerySet[Account]:
    """Customers (accounts with a won deal) that match ``filters``, by name."""
    won = Deal.objects.filter(account=OuterRef("pk"), stage=Stage.CLOSED_WON)
    accounts = Account.objects.filter(Exists(won))
    if filters.segment:
        accounts = accounts.filter(segment=filters.segment)
    if filters.csm_id is not None:
        accounts = accounts.filter(csm_id=filters.csm_id)
    if filters.owner_id is not None:
        accounts = accounts.filter(owner_id=filters.owner_id)
    return accounts.select_related("csm", "owner").order_by("name", "pk")


def whitespace_rows(
    accounts: Sequence[Account], families: Sequence[ProductFamily], *, now: dt.datetime
) -> list[WhitespaceRow]:
    """A row per account with a cell per family, in the order given."""
    accounts = list(accounts)
    holdings = holdings_for_many(account.pk for account in accounts)
    suggestions = suggestions_for_many(accounts, now=now, holdings=holdings)
    rows = []
    for account in accounts:
        owned = holdings.owned.get(account.pk, set())
        open_deals = holdings.open_deals.get(account.pk, {})
        suggested = {s.family: s for s in suggestions[account.pk]}
        cells = []
        for family in families:
            name, is_owned = family.name, family.name in owned
            if name in open_deals:
                cell = Cell(name, CellState.OPEN_DEAL, is_owned, deals=tuple(open_deals[name]))
            elif name in suggested:
                cell = Cell(name, CellState.SUGGESTED, is_owned, reason=suggested[name].reason)
            elif is_owned:
                cell = Cell(name, CellState.OWNED, True)
            else:
                cell = Cell(name, CellState.NONE)
            cells.append(cell)
        rows.append(WhitespaceRow(account=account, cells=cells))
    return rows
