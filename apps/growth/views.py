"""Growth pages in the CS web UI: the whitespace of customers by product family, on
screen and as CSV."""

import csv

from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

from apps.core import clock
from apps.core.pages import cs_page, render_page
from apps.customers.models import ProductFamily
from apps.growth.forms import WhitespaceFilterForm
from apps.growth.whitespace import (
    WhitespaceFilters,
    whitespace_accounts,
    whitespace_rows,
)

PAGE_SIZE = 25
# The CSV export reads suggestions for this many accounts at a time.
EXPORT_CHUNK = 500
# Spreadsheet programs run a cell starting with one of these as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _without(query, *names: str) -> str:
    query = query.copy()
    for name in names:
        query.pop(name, None)
    return query.urlencode()


def _person(user) -> str:
    return (user.get_full_name() or user.get_username()) if user else ""


def _safe(value: str) -> str:
    return f"'{value}" if value.startswith(FORMULA_STARTS) else value


def _csv_response(accounts, families) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="whitespace.csv"'
    writer = csv.writer(response)
    writer.writerow(
        ["account_id", "account", "segment", "csm", "owner", *(f.name for f in families)]
    )
    now = clock.now()
    ids = list(accounts.values_list("pk", flat=True))
    for start in range(0, len(ids), EXPORT_CHUNK):
        chunk = accounts.filter(pk__in=ids[start : start + EXPORT_CHUNK])
        for row in whitespace_rows(chunk, families, now=now):
            account = row.account
            writer.writerow(
                [
                    account.pk,
                    *(
                        _safe(text)
                        for text in (
                            account.name,
                            account.segment,
                            _person(account.csm),
                            _person(account.owner),
                            *(cell.summary() for cell in row.cells),
                        )
                    ),
                ]
            )
    return response


@require_GET
@cs_page(permission="deals.view_deal")
def whitespace(request: HttpRequest) -> HttpResponse:
    """Customers by product family: owned, in an open deal, suggested (with the reason) or
    not a fit. ``?format=csv`` exports every row the filters select."""
    if not request.user.has_perm("customers.view_account"):
        raise PermissionDenied("Your role has no access to this page.")
    form = WhitespaceFilterForm(request.GET or None)
    valid = not form.is_bound or form.is_valid()
    filters = form.filters() if form.is_bound and valid else WhitespaceFilters()
    accounts = whitespace_accounts(filters)
    families = list(ProductFamily.objects.order_by("name"))
    if valid and request.GET.get("format") == "csv":
        return _csv_response(accounts, families)
    page = Paginator(accounts, PAGE_SIZE).get_page(request.GET.get("page"))
    return render_page(
        request,
        "growth/whitespace.html",
        {
            "nav": "whitespace",
            "form": form,
            "families": families,
            "page": page,
            "rows": whitespace_rows(page.object_list, families, now=clock.now()),
            "query": _without(request.GET, "page", "format"),
        },
        status=200 if valid else 400,
    )
