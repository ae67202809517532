"""The team dashboard (CS managers) and the closed-won insights pages (sales and CS
leaders), with a CSV download of every insights table. Views only read: figures come
from ``team`` and ``selectors`` through the table definitions in ``tables``."""

import csv
from collections import defaultdict
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.template.defaultfilters import floatformat
from django.views.decorators.http import require_GET

from apps.core import clock
from apps.core.pages import cs_page, render_page
from apps.growth.charts import bar_chart
from apps.growth.results import ResultFilters
from apps.insights.forms import InsightFilterForm
from apps.insights.selectors import BREAKDOWNS, onboard_overall, time_to_onboard
from apps.insights.tables import TABLES, Table, cells, page_rows
from apps.insights.team import team_dashboard
from apps.surveys.charts import nps_trend


def _shown(values: list[Any]) -> list[Any]:
    """Amounts (the only Decimals in the tables) as the deal pages write them, 906,700.00;
    the CSV keeps the plain number."""
    return [floatformat(v, "2g") if isinstance(v, Decimal) else v for v in values]


# Each insights page: its title, what it says, and the tables it shows.
PAGES = {
    "deals": (
        "Closed-won insights",
        "Deals closed in the period: how many were won and lost, for how much, how long "
        "they took, and why.",
        ("summary", "amounts", "win-reasons", "loss-reasons"),
    ),
    "onboarding": (
        "After the close",
        "New-business deals won in the period and how long their accounts took to finish "
        "onboarding; how far the playbooks started in the period got, step by step.",
        ("time-to-onboard", "playbook-funnel"),
    ),
    "growth": (
        "Customers and growth",
        "NPS answers, expansion revenue and referral revenue in the period.",
        ("nps", "expansion", "referrals"),
    ),
}


# Team dashboard ----------------------------------------------------------------------


@require_GET
@cs_page(permission="insights.view_team_dashboard")
def team(request: HttpRequest) -> HttpResponse:
    context = team_dashboard(user=request.user, now=clock.now())
    return render_page(request, "insights/team.html", {**context, "nav": "team"})


# Insights ----------------------------------------------------------------------------


def _filters(request: HttpRequest) -> tuple[InsightFilterForm, ResultFilters, str, int]:
    form = InsightFilterForm(request.GET or None)
    if not form.is_bound:
        return form, ResultFilters(), "segment", 200
    if form.is_valid():
        return form, form.filters(), form.breakdown(), 200
    return form, ResultFilters(), "segment", 400


def _headings(table: Table, by: str) -> list[str]:
    headings = [heading for heading, _ in table.columns]
    if table.by_group:
        headings[0] = BREAKDOWNS[by]
    return headings


def _count_chart(title: str, rows: list[dict[str, Any]], key: str):
    """Bars of ``rows``' counts summed over the groups, largest first."""
    totals: dict[str, int] = defaultdict(int)
    for row in rows:
        totals[row[key]] += row["deals"]
    ordered = sorted(totals.items(), key=lambda item: (-item[1], item[0]))
    return bar_chart(title, [(label, count, str(count)) for label, count in ordered])


def _charts(page: str, rows: dict[str, list[dict[str, Any]]], by: str) -> list[Any]:
    if page == "deals":
        return [
            _count_chart("Won deals by win reason", rows["win-reasons"], "reason"),
            _count_chart("Lost deals by loss reason", rows["loss-reasons"], "reason"),
        ]
    if page == "onboarding":
        timed = [r for r in rows["time-to-onboard"] if r["average_days"] is not None]
        return [
            bar_chart(
                f"Average days from close to onboarded, by {BREAKDOWNS[by].lower()}",
                [(r["group"], r["average_days"], f"{r['average_days']} d") for r in timed],
            )
        ]
    return []


def _insights_page(request: HttpRequest, page: str) -> HttpResponse:
    form, filters, by, status = _filters(request)
    title, intro, slugs = PAGES[page]
    rows = page_rows(slugs, filters, by)
    query = request.GET.urlencode()
    context: dict[str, Any] = {
        "nav": "insights",
        "page": page,
        "pages": [(key, value[0]) for key, value in PAGES.items()],
        "title": title,
        "intro": intro,
        "form": form,
        "by": by,
        "query": query,
        "tables": [
            {
                "table": TABLES[slug],
                "headings": _headings(TABLES[slug], by),
                "rows": [_shown(cells(TABLES[slug], row)) for row in rows[slug]],
                "counted_at": max((row.get("counted_at") for row in rows[slug]), default=None)
                if slug == "playbook-funnel"
                else None,
            }
            for slug in slugs
        ],
        "charts": [chart for chart in _charts(page, rows, by) if chart],
    }
    if page == "deals":
        [context["summary"]] = rows["summary"]
    if page == "onboarding":
        # Groups of a product family overlap (a deal with two families is in both).
        groups = rows["time-to-onboard"]
        [context["onboard"]] = (
            [onboard_overall(groups)] if by != "family" else time_to_onboard(filters)
        )
    if page == "growth":
        context["trend"] = nps_trend(rows["nps"])
    return render_page(request, "insights/page.html", context, status=status)


@require_GET
@cs_page(permission="insights.view_insights")
def deals(request: HttpRequest) -> HttpResponse:
    return _insights_page(request, "deals")


@require_GET
@cs_page(permission="insights.view_insights")
def onboarding(request: HttpRequest) -> HttpResponse:
    return _insights_page(request, "onboarding")


@require_GET
@cs_page(permission="insights.view_insights")
def growth(request: HttpRequest) -> HttpResponse:
    return _insights_page(request, "growth")


class _Echo:
    """A file whose ``write`` hands the line back, so csv.writer feeds a stream."""

    def write(self, value: str) -> str:
        return value


def _csv_lines(table: Table, headings: list[str], rows: list[dict[str, Any]]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield writer.writerow(headings)
    for row in rows:
        yield writer.writerow(["" if value is None else value for value in cells(table, row)])


@require_GET
@cs_page(permission="insights.view_insights")
def export(request: HttpRequest, slug: str) -> HttpResponse:
    """One insights table as CSV, with the page's filters; streamed row by row."""
    table = TABLES.get(slug)
    if table is None:
        raise Http404("No such table.")
    form, filters, by, status = _filters(request)
    if status != 200:
        problems = "; ".join(
            f"{field}: {' '.join(messages)}" for field, messages in form.errors.items()
        )
        return HttpResponse(problems, status=400, content_type="text/plain; charset=utf-8")
    rows = table.read(filters, by)
    response = StreamingHttpResponse(
        _csv_lines(table, _headings(table, by), rows), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{slug}.csv"'
    return response
