"""Survey responses in the CS web UI: the list with its filters, metrics and trend, and
one response with its follow-up."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils.functional import cached_property
from django.views.decorators.http import require_GET, require_POST

from apps.core.errors import DomainError
from apps.core.pages import cs_page, render_page
from apps.queues.forms import add_domain_errors
from apps.surveys.charts import nps_trend
from apps.surveys.forms import FollowUpForm, ResponseFilterForm
from apps.surveys.models import Response
from apps.surveys.selectors import (
    ResponseFilters,
    response_list,
    response_metrics,
    responses_count,
)
from apps.surveys.services import response_follow_up

PAGE_SIZE = 25


class CountedPaginator(Paginator):
    """A paginator told how many rows there are (from the monthly counts), instead of
    counting a million of them for every page."""

    def __init__(self, object_list, per_page, *, count: int) -> None:
        super().__init__(object_list, per_page)
        self._known_count = count

    @cached_property
    def count(self) -> int:
        return self._known_count

    def page(self, number):
        """Pages in the second half are read from the other end of the index (in reverse
        order, then turned round), so the last page costs what the first does instead of
        skipping a million rows."""
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        top = min(bottom + self.per_page, self.count)
        if bottom <= self.count // 2:
            return self._get_page(self.object_list[bottom:top], number, self)
        from_end = self.count - top
        rows = list(self.object_list.reverse()[from_end : from_end + (top - bottom)])
        return self._get_page(rows[::-1], number, self)


BREAKDOWNS = {"segment": "Segment", "csm": "CSM", "playbook": "Playbook", "month": "Month"}


def _without(query, *names: str) -> str:
    query = query.copy()
    for name in names:
        query.pop(name, None)
    return query.urlencode()


@require_GET
@cs_page(permission="surveys.view_response")
def responses(request: HttpRequest) -> HttpResponse:
    form = ResponseFilterForm(request.GET or None)
    filters = form.filters() if form.is_valid() else ResponseFilters()
    status = 400 if form.is_bound and not form.is_valid() else 200
    paginator = CountedPaginator(response_list(filters), PAGE_SIZE, count=responses_count(filters))
    page = paginator.get_page(request.GET.get("page"))
    [overall] = response_metrics(filters)
    by_month = response_metrics(filters, by="month")
    by = request.GET.get("by") if request.GET.get("by") in BREAKDOWNS else "segment"
    breakdown = by_month if by == "month" else response_metrics(filters, by=by)
    return render_page(
        request,
        "surveys/responses.html",
        {
            "nav": "responses",
            "form": form,
            "page": page,
            "overall": overall,
            "by_month": by_month,
            "trend": nps_trend(by_month),
            "by": by,
            "breakdowns": BREAKDOWNS,
            "breakdown": breakdown,
            "breakdown_query": _without(request.GET, "by", "page"),
            "query": _without(request.GET, "page"),
        },
        status=status,
    )


@cs_page(permission="surveys.view_response")
def response_detail(request: HttpRequest, pk: int) -> HttpResponse:
    response = get_object_or_404(
        Response.objects.select_related(
            "account", "contact", "csm", "followed_up_by", "survey", "invitation"
        ),
        pk=pk,
    )
    return render_page(
        request,
        "surveys/response_detail.html",
        {"nav": "responses", "response": response, "form": FollowUpForm()},
    )


@require_POST
@cs_page(permission="surveys.change_response")
def response_follow_up_view(request: HttpRequest, pk: int) -> HttpResponse:
    response = get_object_or_404(Response, pk=pk)
    form = FollowUpForm(request.POST)
    if form.is_valid():
        try:
            note = form.cleaned_data["note"]
            response_follow_up(response=response, actor=request.user, note=note)
        except DomainError as error:
            add_domain_errors(form, error)
        else:
            messages.success(request, "Marked as followed up.")
            return redirect("surveys:response_detail", pk=pk)
    response = Response.objects.select_related(
        "account", "contact", "csm", "followed_up_by", "survey"
    ).get(pk=pk)
    return render_page(
        request,
        "surveys/response_detail.html",
        {"nav": "responses", "response": response, "form": form},
        status=400,
    )
