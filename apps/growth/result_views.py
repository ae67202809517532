"""What growth brought in, in the CS web UI: the referral funnel (with the referrals and
their rewards) and the expansion pipeline by playbook step."""

from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

from apps.core.pages import cs_page, render_page
from apps.growth.charts import bar_chart
from apps.growth.forms import ResultFilterForm
from apps.growth.models import Referral
from apps.growth.results import (
    FUNNEL_STAGES,
    ResultFilters,
    expansion_pipeline,
    referral_funnel,
)

RECENT = 25


def _filters(request: HttpRequest) -> tuple[ResultFilterForm, ResultFilters, int]:
    form = ResultFilterForm(request.GET or None)
    if not form.is_bound:
        return form, ResultFilters(), 200
    if form.is_valid():
        return form, form.filters(), 200
    return form, ResultFilters(), 400


def _without_by(request: HttpRequest) -> str:
    query = request.GET.copy()
    query.pop("by", None)
    return query.urlencode()


def _money_text(per_currency: dict[str, str]) -> str:
    return ", ".join(f"{amount} {currency}" for currency, amount in per_currency.items()) or "0"


@require_GET
@cs_page(permission="growth.view_referral")
def referral_results(request: HttpRequest) -> HttpResponse:
    form, filters, status = _filters(request)
    [overall] = referral_funnel(filters)
    by = "segment" if request.GET.get("by") == "segment" else "month"
    recent = _referrals(filters).select_related(
        "referrer_contact", "referrer_account", "account", "deal", "reward"
    )[:RECENT]
    chart = bar_chart(
        "Referral funnel",
        [(label, overall[key], str(overall[key])) for key, label in FUNNEL_STAGES],
    )
    return render_page(
        request,
        "growth/referrals.html",
        {
            "nav": "referrals",
            "form": form,
            "tab_query": _without_by(request),
            "overall": overall,
            "revenue": _money_text(overall["revenue"]),
            "chart": chart,
            "by": by,
            "breakdown": referral_funnel(filters, by=by),
            "recent": recent,
        },
        status=status,
    )


def _referrals(filters: ResultFilters):
    rows = Referral.objects.order_by("-submitted_at", "-id")
    if filters.since:
        rows = rows.filter(request__created_at__date__gte=filters.since)
    if filters.until:
        rows = rows.filter(request__created_at__date__lte=filters.until)
    if filters.segment:
        rows = rows.filter(referrer_account__segment=filters.segment)
    return rows


@require_GET
@cs_page(permission="growth.view_expansiondeal")
def expansion_results(request: HttpRequest) -> HttpResponse:
    form, filters, status = _filters(request)
    by = request.GET.get("by") if request.GET.get("by") in ("month", "segment") else "month"
    by_step = expansion_pipeline(filters, by="step")
    breakdown = expansion_pipeline(filters, by=by)
    chart = None
    if by == "month":
        # One bar per month with won revenue; a chart only when one currency is in play.
        currencies = {c for row in breakdown for c in row["won_revenue"]}
        if len(currencies) == 1:
            [currency] = currencies
            chart = bar_chart(
                f"Won expansion revenue by month ({currency})",
                [
                    (
                        row["group"],
                        float(row["won_revenue"].get(currency, 0)),
                        row["won_revenue"].get(currency, "0"),
                    )
                    for row in breakdown
                ],
            )
    return render_page(
        request,
        "growth/expansion.html",
        {
            "nav": "expansion",
            "form": form,
            "tab_query": _without_by(request),
            "by_step": by_step,
            "by": by,
            "breakdown": breakdown,
            "chart": chart,
        },
        status=status,
    )
