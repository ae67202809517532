"""The deal page: the deal's details, line items, account and contact, its history (stage
and field changes, newest first), the transitions the viewer may make and the panels
other apps draw (what a close started).

Every action answers an htmx request with the whole deal region (a transition changes
most of it) and a plain form post with a redirect, so the page works without JavaScript.
A refused action's reasons go back next to the field (400); a change someone else made
first is a 409 with the deal as it is now; acting on someone else's deal is a 403 that
says whose it is.
"""

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import Resolver404, resolve, reverse
from django.views.decorators.http import require_GET, require_POST

from apps.core.errors import Conflict, DomainError, NotPermitted
from apps.core.pages import DealPanel, add_domain_errors, cs_page, deal_panels, render_page
from apps.core.pages import deal_panel as registered_panel
from apps.deals import selectors, services
from apps.deals.forms import (
    CloseLostForm,
    CloseWonForm,
    DealEditForm,
    LineItemChangeForm,
    LineItemForm,
    ReopenForm,
    StageMoveForm,
    show_problems,
)
from apps.deals.models import Deal, DealLineItem, Stage

HISTORY_PAGE_SIZE = 20
# The deal page reloads a panel that is still changing every 2 s, at most this often.
PANEL_POLLS = 30
SOURCE = services.Source.UI

# Where to fix each thing that stops a close as won: the id of the input (or section).
BLOCKER_FIXES = {
    "amount": ("Amount", "edit_amount"),
    "currency": ("Currency", "edit_currency"),
    "primary_contact": ("Primary contact", "edit_primary_contact"),
    "line_items": ("Line items", "line-items"),
    "close_date": ("Close date", "won_close_date"),
    "win_reason": ("Win reason", "won_win_reason"),
    "win_notes": ("Why they bought", "won_win_notes"),
}
# A role with none of these only reads deals.
ROLE_WRITES = ("change_deal", "close_deal", "reopen_deal")
# What the deal itself lacks; the rest is typed in the close-as-won form.
DEAL_BLOCKERS = ("amount", "currency", "primary_contact", "line_items")


def _deal(pk: int) -> Deal:
    deal = selectors.deal_list_with_line_items().filter(pk=pk).first()
    if deal is None:
        raise Http404("No such deal.")
    return deal


def _acting_on(request: HttpRequest, pk: int, doing: str) -> Deal:
    """The deal, if the viewer may act on it: its owner, or who acts on any deal."""
    deal = _deal(pk)
    try:
        services.require_deal_access(deal, request.user, doing)
    except NotPermitted as error:
        raise PermissionDenied(error.message) from error
    return deal


def _account_url(deal: Deal) -> str:
    """The account's page in the web UI where there is one, else its admin page."""
    path = f"/accounts/{deal.account_id}/"
    try:
        resolve(path)
    except Resolver404:
        return reverse("admin:customers_account_change", args=[deal.account_id])
    return path


def _access_refusal(request: HttpRequest, deal: Deal) -> str:
    """Why the viewer may not act on this deal at all (someone else's), or ""."""
    try:
        services.require_deal_access(deal, request.user, "change it")
    except NotPermitted as error:
        return error.message
    return ""


def _blocker_list(problems: dict[str, list[str]]) -> list[dict[str, str]]:
    listed = []
    for field, messages_ in problems.items():
        label, anchor = BLOCKER_FIXES.get(field, (field.replace("_", " ").capitalize(), ""))
        for message in messages_:
            listed.append({"field": field, "label": label, "message": message, "anchor": anchor})
    return listed


def _panel_entry(panel: DealPanel, value: Any, poll: int) -> dict[str, Any]:
    refresh = bool(getattr(value, "refresh", False))
    return {
        "key": panel.key,
        "template": panel.template,
        "value": value,
        "poll": refresh and poll < PANEL_POLLS,
        "next_poll": poll + 1,
        "gave_up": refresh and poll >= PANEL_POLLS,
    }


def _deal_context(
    request: HttpRequest,
    deal: Deal,
    *,
    bound: dict[str, forms.Form] | None = None,
    close_problems: dict[str, list[str]] | None = None,
) -> dict[str, Any]:
    user, bound = request.user, bound or {}
    if not any(user.has_perm(f"deals.{perm}") for perm in ROLE_WRITES):
        read_only_reason = "Your role may read deals but not change them."
    else:
        read_only_reason = _access_refusal(request, deal)
    transitions = (
        [] if read_only_reason else services.deal_available_transitions(deal=deal, user=user)
    )
    names = {t.name for t in transitions}
    can_edit = not read_only_reason and not deal.is_closed and user.has_perm("deals.change_deal")
    if not (read_only_reason or transitions or can_edit or deal.is_closed):
        read_only_reason = "Your role may read open deals but not change them."
    context: dict[str, Any] = {
        "deal": deal,
        "nav": "deals",
        "account_url": _account_url(deal),
        "contact": services.deal_effective_primary_contact(deal),
        "line_items": list(deal.line_items.all()),
        "read_only_reason": read_only_reason,
        "moves": [
            {"name": t.name, "target_label": Stage(t.target).label}
            for t in sorted(transitions, key=lambda t: selectors.PIPELINE_STAGES.index(t.target))
            if t.name in services.STAGE_MOVES
        ],
        "can_edit": can_edit,
        "can_close_won": "close_won" in names,
        "can_close_lost": "close_lost" in names,
        "can_reopen": "reopen" in names,
        "reopen_refusal": "",
        "panels": [_panel_entry(panel, value, 0) for panel, value in deal_panels(deal)],
    }
    if deal.is_closed and "reopen" not in names and not read_only_reason:
        context["reopen_refusal"] = (
            "Reopening a closed deal needs its own permission: ask a sales manager."
        )
    if can_edit:
        edit_form = bound.get("edit") or DealEditForm(
            deal=deal, may_reassign=user.has_perm("deals.act_on_any_deal")
        )
        if close_problems:
            show_problems(edit_form, close_problems)
        context.update(
            edit_form=edit_form,
            line_item_form=bound.get("line_item") or LineItemForm(),
            item_forms=[
                (
                    item,
                    bound.get(f"item{item.pk}")
                    or LineItemChangeForm(
                        initial={"quantity": item.quantity, "unit_price": item.unit_price},
                        auto_id=f"item{item.pk}_%s",
                    ),
                )
                for item in context["line_items"]
            ],
        )
    if context["moves"]:
        context["move_form"] = bound.get("move") or StageMoveForm()
    if context["can_close_won"]:
        context["close_won_form"] = bound.get("close_won") or CloseWonForm()
        if close_problems is None:
            readiness = services.deal_close_won_blockers(deal=deal, win_reason=None, win_notes="")
            close_problems = {k: v for k, v in readiness.items() if k in DEAL_BLOCKERS}
            context["blockers_are_preview"] = True
        context["blockers"] = _blocker_list(close_problems)
    if context["can_close_lost"]:
        context["close_lost_form"] = bound.get("close_lost") or CloseLostForm()
    if context["can_reopen"]:
        context["reopen_form"] = bound.get("reopen") or ReopenForm()
    entries, total = selectors.deal_history(
        deal=deal, page=_history_page(request), per_page=HISTORY_PAGE_SIZE
    )
    context["history"] = entries
    context["history_page"] = Paginator(range(total), HISTORY_PAGE_SIZE).get_page(
        _history_page(request)
    )
    return context


def _history_page(request: HttpRequest) -> int:
    raw = request.GET.get("history_page", "")
    return int(raw) if raw.isdecimal() and 0 < int(raw) < 10_000 else 1


@require_GET
@cs_page(permission="deals.view_deal")
def deal_detail(request: HttpRequest, pk: int) -> HttpResponse:
    deal = _deal(pk)
    return render_page(request, "deals/deal_detail.html", _deal_context(request, deal))


def _deal_action(
    request: HttpRequest,
    deal: Deal,
    *,
    name: str,
    form: forms.Form,
    perform: Callable[[dict[str, Any]], Any],
    success: str,
) -> HttpResponse:
    """Validate, call the service, then answer: the refreshed deal region for htmx, a
    redirect for a plain post; on refusal, the form again with the reasons (400), or the
    deal as it is now with why (409) when someone changed it first."""
    status, close_problems = 400, None
    seen_stage = request.POST.get("stage")
    if seen_stage and seen_stage != deal.stage:
        # The page was drawn before someone else moved the deal.
        messages.error(
            request,
            f"Someone else moved this deal to “{deal.get_stage_display()}” meanwhile; "
            "here it is as it is now. Nothing was changed.",
        )
        form, status = None, 409
    elif form.is_valid():
        try:
            perform(form.cleaned_data)
        except NotPermitted as error:
            raise PermissionDenied(error.message) from error
        except Conflict as error:
            messages.error(request, error.message)
            deal, form, status = _deal(deal.pk), None, 409
        except DomainError as error:
            add_domain_errors(form, error)
            if name == "close_won":
                close_problems = error.errors
            deal = _deal(deal.pk)  # as stored: a refused service may have set values
        else:
            messages.success(request, success)
            if not request.htmx:
                return redirect("deals:deal_detail", pk=deal.pk)
            fresh = _deal(deal.pk)
            return render_page(request, "deals/_deal_page.html", _deal_context(request, fresh))
    bound = {name: form} if form is not None else {}
    context = _deal_context(request, deal, bound=bound, close_problems=close_problems)
    template = "deals/_deal_page.html" if request.htmx else "deals/deal_detail.html"
    return render_page(request, template, context, status=status)


@require_POST
@cs_page(permission="deals.change_deal")
def deal_edit(request: HttpRequest, pk: int) -> HttpResponse:
    deal = _acting_on(request, pk, "change it")
    form = DealEditForm(
        request.POST, deal=deal, may_reassign=request.user.has_perm("deals.act_on_any_deal")
    )
    return _deal_action(
        request,
        deal,
        name="edit",
        form=form,
        perform=lambda data: services.deal_update(
            deal=deal, actor=request.user, source=SOURCE, **data
        ),
        success="Deal saved.",
    )


@require_POST
@cs_page(permission="deals.add_deallineitem")
def line_item_add(request: HttpRequest, pk: int) -> HttpResponse:
    deal = _acting_on(request, pk, "change its line items")
    return _deal_action(
        request,
        deal,
        name="line_item",
        form=LineItemForm(request.POST),
        perform=lambda data: services.line_item_add(
            deal=deal, actor=request.user, source=SOURCE, **data
        ),
        success="Line item added.",
    )


def _line_item(deal: Deal, item_pk: int) -> DealLineItem:
    item = next((item for item in deal.line_items.all() if item.pk == item_pk), None)
    if item is None:
        raise Http404("No such line item on this deal.")
    return item


@require_POST
@cs_page(permission="deals.change_deallineitem")
def line_item_change(request: HttpRequest, pk: int, item_pk: int) -> HttpResponse:
    deal = _acting_on(request, pk, "change its line items")
    item = _line_item(deal, item_pk)
    return _deal_action(
        request,
        deal,
        name=f"item{item.pk}",
        form=LineItemChangeForm(request.POST, auto_id=f"item{item.pk}_%s"),
        perform=lambda data: services.line_item_update(
            item=item, actor=request.user, source=SOURCE, **data
        ),
        success="Line item saved.",
    )


@require_POST
@cs_page(permission="deals.delete_deallineitem")
def line_item_remove(request: HttpRequest, pk: int, item_pk: int) -> HttpResponse:
    deal = _acting_on(request, pk, "change its line items")
    item = _line_item(deal, item_pk)
    return _deal_action(
        request,
        deal,
        name="remove",
        form=forms.Form(request.POST),
        perform=lambda data: services.line_item_remove(
            item=item, actor=request.user, source=SOURCE
        ),
        success="Line item removed.",
    )


# Transitions: permission and ownership are the service's to check, as for the API.

TRANSITION_FORMS: dict[str, tuple[type[forms.Form], str]] = {
    "close_won": (CloseWonForm, "Closed as won. The playbooks it matches are starting."),
    "close_lost": (CloseLostForm, "Closed as lost."),
    "reopen": (ReopenForm, "Reopened: the deal is in negotiation again."),
}


@require_POST
@cs_page(permission="deals.view_deal")
def deal_transition(request: HttpRequest, pk: int, name: str) -> HttpResponse:
    """Run the transition ``name`` (a stage move, a close or a reopen) with what the
    person typed, through ``services.deal_transition`` like the API."""
    if name not in services.TRANSITIONS:
        raise Http404("No such transition.")
    # Someone else's deal is refused before the input is read, as the edits are.
    deal = _acting_on(request, pk, f"“{services.TRANSITIONS[name].label.lower()}”")
    form_class, success = TRANSITION_FORMS.get(name, (StageMoveForm, "Stage changed."))
    return _deal_action(
        request,
        deal,
        name=name if name in TRANSITION_FORMS else "move",
        form=form_class(request.POST),
        perform=lambda data: services.deal_transition(
            deal=deal, name=name, actor=request.user, source=SOURCE, data=data
        ),
        success=success,
    )


@require_GET
@cs_page(permission="deals.view_deal")
def deal_panel(request: HttpRequest, pk: int, key: str) -> HttpResponse:
    """One panel again, for the page's polling while it is still changing."""
    panel = registered_panel(key)
    if panel is None:
        raise Http404("No such panel.")
    deal = _deal(pk)
    raw = request.GET.get("poll", "")
    poll = int(raw) if raw.isdecimal() and int(raw) <= PANEL_POLLS else PANEL_POLLS
    value = panel.read(deal)
    if value is None:
        return HttpResponse("")  # the panel goes, and its polling with it
    item = _panel_entry(panel, value, poll)
    return render_page(request, "deals/_panel.html", {"deal": deal, "item": item})
