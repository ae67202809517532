"""The top bar's search: accounts, contacts, deals and tasks the viewer may see.

On PostgreSQL a term matches a substring (ILIKE, served by the trigram indexes the
``workspace`` migrations add) or is close to a name (pg_trgm's ``%`` similarity, which
forgives a typo), best match first. Elsewhere (SQLite) it is a case-insensitive
substring match, in name order. Each group is one query, limited.
"""

from dataclasses import dataclass, field
from typing import Any

from django.contrib.postgres.search import TrigramSimilarity
from django.db import connection
from django.db.models import Q, QuerySet
from django.db.models.functions import Greatest

from apps.customers.models import Account, Contact
from apps.deals.models import Deal
from apps.queues.selectors import tasks_visible_to

MIN_LENGTH = 2
MAX_LENGTH = 100
GROUP_ROWS = 5
PAGE_ROWS = 25


@dataclass
class SearchResults:
    accounts: list[Account] = field(default_factory=list)
    contacts: list[Contact] = field(default_factory=list)
    deals: list[Deal] = field(default_factory=list)
    tasks: list[Any] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.accounts or self.contacts or self.deals or self.tasks)


def _matching(queryset: QuerySet, fields: tuple[str, ...], term: str, limit: int) -> list[Any]:
    substring = Q()
    for name in fields:
        substring |= Q(**{f"{name}__icontains": term})
    if connection.vendor != "postgresql":
        return list(queryset.filter(substring).order_by(*fields, "pk")[:limit])
    close = Q()
    for name in fields:
        close |= Q(**{f"{name}__trigram_similar": term})
    scores = [TrigramSimilarity(name, term) for name in fields]
    score = Greatest(*scores) if len(scores) > 1 else scores[0]
    return list(
        queryset.filter(substring | close)
        .annotate(match=score)
        .order_by("-match", *fields, "pk")[:limit]
    )


def search(*, user: Any, term: str, limit: int = GROUP_ROWS) -> SearchResults:
    """What ``term`` finds among what ``user`` may see: at most ``limit`` of each kind."""
    results = SearchResults()
    if user.has_perm("customers.view_account"):
        results.accounts = _matching(
            Account.objects.select_related("csm"), ("name", "domain"), term, limit
        )
    if user.has_perm("customers.view_contact"):
        results.contacts = _matching(
            Contact.objects.select_related("account"), ("name", "email"), term, limit
        )
    if user.has_perm("deals.view_deal"):
        results.deals = _matching(Deal.objects.select_related("account"), ("name",), term, limit)
    if user.has_perm("queues.view_task"):
        results.tasks = _matching(tasks_visible_to(user), ("title",), term, limit)
    return results
