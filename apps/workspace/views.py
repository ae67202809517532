"""The accounts pages and the top bar's search. Thin: forms read the query, selectors
read the rows, the note goes through ``services``; every view checks who is asking."""

import csv
from collections.abc import Iterator
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from apps.core import clock
from apps.core.errors import DomainError, NotPermitted
from apps.core.pages import cs_page, render_page
from apps.customers.models import Account
from apps.deals.selectors import account_revenue
from apps.workspace import search as search_module
from apps.workspace import selectors, services
from apps.workspace.activity import BadCursor, account_activity, cursor_parse
from apps.workspace.forms import AccountFilterForm, AccountNoteForm, SearchForm
from apps.workspace.search import PAGE_ROWS, search

CSV_CHUNK = 500


def _today() -> Any:
    return timezone.localdate(clock.now())


def _query_without(request: HttpRequest, *keys: str) -> str:
    kept = request.GET.copy()
    for key in keys:
        kept.pop(key, None)
    return kept.urlencode()


def _money(arr: dict[str, Any]) -> str:
    return ", ".join(f"{amount:,.2f} {currency}" for currency, amount in sorted(arr.items()))


# The account list -------------------------------------------------------------------------


@require_GET
@cs_page(permission="customers.view_account")
def account_list(request: HttpRequest) -> HttpResponse:
    """Accounts with search, filters and sorting; ``?format=csv`` streams every row the
    filters select. An invalid filter is a 400 naming it, with the unfiltered list."""
    form = AccountFilterForm(request.GET or None)
    valid = not form.is_bound or form.is_valid()
    today = _today()
    accounts = selectors.account_list(filters=form.filters(), today=today)
    if valid and request.GET.get("format") == "csv":
        return _csv_response(accounts, today)
    page = Paginator(accounts, form.page_size()).get_page(request.GET.get("page"))
    revenue = account_revenue(account_ids=[a.pk for a in page.object_list], today=today)
    rows = [
        {
            "account": account,
            "arr": _money(revenue[account.pk].arr) if account.pk in revenue else "",
        }
        for account in page.object_list
    ]
    return render_page(
        request,
        "workspace/account_list.html",
        {
            "nav": "accounts",
            "form": form,
            "page": page,
            "rows": rows,
            "query": _query_without(request, "page", "format"),
            "csv_query": _query_without(request, "page", "format", "per_page"),
        },
        status=200 if valid else 400,
    )


def _csv_safe(text: str) -> str:
    # A cell a spreadsheet would run as a formula is written as text.
    return f"'{text}" if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _person(user: Any) -> str:
    return (user.get_full_name() or user.get_username()) if user else ""


class _Echo:
    def write(self, value: str) -> str:
        return value


def _csv_rows(accounts: Any, today: Any) -> Iterator[list[str]]:
    yield [
        "Account",
        "Domain",
        "Lifecycle",
        "Tier",
        "Segment",
        "Country",
        "CSM",
        "Owner",
        "ARR",
        "Renewal date",
        "Health band",
        "Health score",
    ]
    batch: list[Account] = []
    for account in accounts.iterator(chunk_size=CSV_CHUNK):
        batch.append(account)
        if len(batch) == CSV_CHUNK:
            yield from _csv_batch(batch, today)
            batch = []
    yield from _csv_batch(batch, today)


def _csv_batch(batch: list[Account], today: Any) -> Iterator[list[str]]:
    revenue = account_revenue(account_ids=[a.pk for a in batch], today=today) if batch else {}
    for account in batch:
        found = revenue.get(account.pk)
        yield [
            _csv_safe(text)
            for text in (
                account.name,
                account.domain,
                account.get_lifecycle_status_display(),
                account.get_tier_display(),
                account.segment,
                account.country,
                _person(account.csm),
                _person(account.owner),
                _money(found.arr) if found else "",
                found.renewal_date.isoformat() if found and found.renewal_date else "",
                *_health_cells(account),
            )
        ]


def _health_cells(account: Account) -> tuple[str, str]:
    health = getattr(account, "health", None) if hasattr(account, "health") else None
    if health is None:
        return "not computed", ""
    return health.get_band_display(), "" if health.score is None else str(health.score)


def _csv_response(accounts: Any, today: Any) -> StreamingHttpResponse:
    writer = csv.writer(_Echo())
    response = StreamingHttpResponse(
        (writer.writerow(row) for row in _csv_rows(accounts, today)),
        content_type="text/csv; charset=utf-8",
    )
    response["Content-Disposition"] = f'attachment; filename="accounts-{today.isoformat()}.csv"'
    return response


# The account page -------------------------------------------------------------------------


def _account(pk: int) -> Account:
    account = selectors.account_for_page(pk=pk)
    if account is None:
        raise Http404("No such account.")
    return account


def _activity(request: HttpRequest, account: Account) -> tuple[Any, str]:
    raw = request.GET.get("before", "")
    try:
        cursor = cursor_parse(raw) if raw else None
    except BadCursor as error:
        return None, f"before: {error}"
    return account_activity(account=account, user=request.user, cursor=cursor), ""


def _account_context(request: HttpRequest, account: Account) -> dict[str, Any]:
    user = request.user
    now = clock.now()
    can = user.has_perm
    context: dict[str, Any] = {
        "nav": "accounts",
        "account": account,
        "now": now,
        **selectors.account_figures(account=account, today=_today()),
        "health_panel": selectors.account_health(account=account)
        if can("health.view_accounthealth")
        else None,
        "contacts": selectors.account_contacts(account=account)
        if can("customers.view_contact")
        else None,
        "deals": selectors.account_deals(account=account) if can("deals.view_deal") else None,
        "enrollments": selectors.account_enrollments(account=account)
        if can("engine.view_enrollment")
        else None,
        "tasks": selectors.account_tasks(account=account, user=user)
        if can("queues.view_task")
        else None,
        "emails": selectors.account_emails(account=account)
        if can("notifications.view_emailmessage")
        else None,
        "responses": selectors.account_responses(account=account)
        if can("surveys.view_response")
        else None,
        "usage": selectors.account_usage(account=account)
        if can("growth.view_usagesnapshot")
        else None,
        "suggestions": selectors.account_suggestions(account=account, now=now)
        if can("deals.view_deal")
        else None,
        "referrals": selectors.account_referrals(account=account)
        if can("growth.view_referral")
        else None,
        "notes": selectors.account_notes(account=account)
        if can("workspace.view_accountnote")
        else None,
        "can_add_note": can("workspace.add_accountnote"),
    }
    return context


@require_GET
@cs_page(permission="customers.view_account")
def account_detail(request: HttpRequest, pk: int) -> HttpResponse:
    account = _account(pk)
    activity, problem = _activity(request, account)
    context = {
        **_account_context(request, account),
        "note_form": AccountNoteForm(auto_id="note_%s"),
        "activity": activity,
        "activity_problem": problem,
    }
    return render_page(
        request, "workspace/account_detail.html", context, status=400 if problem else 200
    )


@require_GET
@cs_page(permission="customers.view_account")
def account_activity_page(request: HttpRequest, pk: int) -> HttpResponse:
    """One page of the account's activity (the "older" link's htmx target)."""
    account = _account(pk)
    activity, problem = _activity(request, account)
    return render_page(
        request,
        "workspace/_activity.html",
        {"account": account, "activity": activity, "activity_problem": problem},
        status=400 if problem else 200,
    )


@require_POST
@cs_page(permission="workspace.add_accountnote")
def account_note_add(request: HttpRequest, pk: int) -> HttpResponse:
    """Add a note (htmx: the notes section again; otherwise back to the page). A refused
    note comes back with the reason beside the field and nothing saved (400)."""
    account = _account(pk)
    form = AccountNoteForm(request.POST, auto_id="note_%s")
    status = 400
    if form.is_valid():
        try:
            services.account_note_add(
                account=account, actor=request.user, body=form.cleaned_data["body"]
            )
        except NotPermitted as error:
            raise PermissionDenied(error.message) from error
        except DomainError as error:
            for field, problems in error.as_dict().items():
                form.add_error(field if field in form.fields else None, problems)
        else:
            if not request.htmx:
                messages.success(request, "Note added.")
                return redirect(reverse("workspace:account_detail", args=[account.pk]) + "#notes")
            form, status = AccountNoteForm(auto_id="note_%s"), 200
    context = {
        "account": account,
        "notes": selectors.account_notes(account=account),
        "note_form": form,
        "can_add_note": True,
    }
    if request.htmx:
        return render_page(request, "workspace/_notes.html", context, status=status)
    context = {**_account_context(request, account), "note_form": form}
    context["activity"], context["activity_problem"] = _activity(request, account)
    return render_page(request, "workspace/account_detail.html", context, status=status)


# Search -----------------------------------------------------------------------------------


def _search(request: HttpRequest, *, limit: int) -> tuple[dict[str, Any], int]:
    form = SearchForm(request.GET)
    if not form.is_valid():
        problems = "; ".join(
            f"{field}: {' '.join(errors)}" for field, errors in form.errors.items()
        )
        return {"form": form, "message": problems, "results": None}, 400
    term, message = form.term()
    results = search(user=request.user, term=term, limit=limit) if term else None
    shown = (form.cleaned_data.get("q") or "")[: search_module.MAX_LENGTH * 2]
    context = {"form": form, "term": term, "shown": shown, "message": message}
    return {**context, "results": results}, 200


@require_GET
@cs_page(permission=None)
def search_page(request: HttpRequest) -> HttpResponse:
    context, status = _search(request, limit=PAGE_ROWS)
    return render_page(
        request, "workspace/search.html", {"nav": "search", **context}, status=status
    )


@require_GET
@cs_page(permission=None)
def search_suggest(request: HttpRequest) -> HttpResponse:
    """The top bar's dropdown: a few of each kind, and a link to every result."""
    context, status = _search(request, limit=5)
    return render_page(request, "workspace/_search_dropdown.html", context, status=status)
