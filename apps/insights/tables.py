"""The insights tables, each defined once: its title, its columns and how its rows are
read. The pages draw them and the CSV export streams them from the same definition, so
a download always holds what the page shows."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from apps.growth.results import ResultFilters, expansion_pipeline, referral_funnel
from apps.insights import selectors
from apps.surveys.models import Kind
from apps.surveys.selectors import ResponseFilters, response_metrics


@dataclass(frozen=True)
class Table:
    slug: str
    title: str
    columns: tuple[tuple[str, str], ...]  # (heading, key in a row)
    read: Callable[[ResultFilters, str], list[dict[str, Any]]]
    by_group: bool = False  # its first column is the "break down by" group


def money(per_currency: dict[str, str]) -> str:
    """Amounts per currency as one cell: "1200.00 USD, 80.00 EUR"."""
    return ", ".join(f"{amount} {currency}" for currency, amount in per_currency.items())


def _summary(filters: ResultFilters, by: str) -> list[dict[str, Any]]:
    return [selectors.deal_summary(filters)]


def _amounts(filters: ResultFilters, by: str) -> list[dict[str, Any]]:
    return selectors.deal_amounts(filters)


def page_rows(slugs: tuple[str, ...], filters: ResultFilters, by: str) -> dict[str, list]:
    """The rows of a page's tables; the summary and the amounts come from one query, and
    so do the win and the loss reasons."""
    rows = {}
    if "summary" in slugs and "amounts" in slugs:
        figures = selectors.deal_figures(filters)
        rows = {"summary": [figures["summary"]], "amounts": figures["amounts"]}
    if "win-reasons" in slugs and "loss-reasons" in slugs:
        both = selectors.all_reasons(filters, by=by)
        rows.update({"win-reasons": both["win"], "loss-reasons": both["loss"]})
    for slug in slugs:
        if slug not in rows:
            rows[slug] = TABLES[slug].read(filters, by)
    return rows


def nps_filters(filters: ResultFilters) -> ResponseFilters:
    return ResponseFilters(
        kind=Kind.NPS,
        segment=filters.segment,
        answered_from=filters.since,
        answered_to=filters.until,
    )


def _nps(filters: ResultFilters, by: str) -> list[dict[str, Any]]:
    return response_metrics(nps_filters(filters), by="month")


def _expansion(filters: ResultFilters, by: str) -> list[dict[str, Any]]:
    return [
        {**row, "pipeline": money(row["pipeline"]), "won_revenue": money(row["won_revenue"])}
        for row in expansion_pipeline(filters, by="month")
    ]


def _referrals(filters: ResultFilters, by: str) -> list[dict[str, Any]]:
    return [
        {**row, "revenue": money(row["revenue"])} for row in referral_funnel(filters, by="month")
    ]


ONBOARD_COLUMNS = (
    ("Won (new business)", "won"),
    ("Onboarded", "onboarded"),
    ("Still onboarding", "onboarding"),
    ("Average days to onboard", "average_days"),
)

TABLES = {
    table.slug: table
    for table in (
        Table(
            "summary",
            "Won and lost",
            (
                ("Won", "won"),
                ("Lost", "lost"),
                ("Win rate %", "win_rate"),
                ("Sales cycle, won (days)", "cycle_days"),
                ("Sales cycle, lost (days)", "lost_cycle_days"),
            ),
            _summary,
        ),
        Table(
            "amounts",
            "Amounts",
            (
                ("Currency", "currency"),
                ("Won amount", "won_amount"),
                ("Lost amount", "lost_amount"),
                ("Average won deal", "average_won"),
            ),
            _amounts,
        ),
        Table(
            "win-reasons",
            "Win reasons",
            (
                ("Group", "group"),
                ("Win reason", "reason"),
                ("Deals", "deals"),
                ("Share %", "share"),
            ),
            lambda filters, by: selectors.reasons(filters, kind="win", by=by),
            by_group=True,
        ),
        Table(
            "loss-reasons",
            "Loss reasons",
            (
                ("Group", "group"),
                ("Loss reason", "reason"),
                ("Deals", "deals"),
                ("Share %", "share"),
            ),
            lambda filters, by: selectors.reasons(filters, kind="loss", by=by),
            by_group=True,
        ),
        Table(
            "time-to-onboard",
            "Closed-won to onboarding complete",
            (("Group", "group"), *ONBOARD_COLUMNS),
            lambda filters, by: selectors.time_to_onboard(filters, by=by),
            by_group=True,
        ),
        Table(
            "playbook-funnel",
            "Playbook funnel",
            (
                ("Playbook", "playbook"),
                ("Step", "step"),
                ("Reached", "reached"),
                ("Done", "done"),
                ("Skipped", "skipped"),
                ("Dead", "dead"),
                ("Done %", "done_rate"),
            ),
            lambda filters, by: selectors.playbook_funnel(filters),
        ),
        Table(
            "nps",
            "NPS by month",
            (
                ("Month", "group"),
                ("Answers", "nps_n"),
                ("Promoters", "promoters"),
                ("Detractors", "detractors"),
                ("NPS", "nps"),
            ),
            _nps,
        ),
        Table(
            "expansion",
            "Expansion revenue by month",
            (
                ("Month", "group"),
                ("Prompted", "prompted"),
                ("Open", "open"),
                ("Pipeline", "pipeline"),
                ("Won", "won"),
                ("Lost", "lost"),
                ("Won revenue", "won_revenue"),
            ),
            _expansion,
        ),
        Table(
            "referrals",
            "Referral revenue by month",
            (
                ("Month", "group"),
                ("Asked", "asked"),
                ("Referrals sent", "submitted"),
                ("Won", "won"),
                ("Conversion %", "conversion_rate"),
                ("Revenue", "revenue"),
            ),
            _referrals,
        ),
    )
}


def cells(table: Table, row: dict[str, Any]) -> list[Any]:
    return [row.get(key) for _, key in table.columns]
