"""A published version in words and tables for the admin: its trigger, filters, cancel
rules and steps (timing, conditions, config), never as raw JSON."""

from collections.abc import Iterable, Mapping
from typing import Any

from django.utils.html import format_html, format_html_join

from apps.core import event_registry as registry
from apps.core import step_kinds
from apps.core.admin_tools import json_rows, json_value_text
from apps.core.step_kinds import StepDefinition, step_timing_label
from apps.playbooks.filters import FILTER_KEYS

OPERATOR_WORDS = {
    "==": "is",
    "!=": "is not",
    ">": ">",
    ">=": "≥",
    "<": "<",
    "<=": "≤",
    "in": "is one of",
    "not_in": "is none of",
    "is_set": "is set",
    "is_not_set": "is not set",
}


def _words(name: str) -> str:
    return name.replace("_", " ")


def condition_text(rule: Mapping[str, Any]) -> str:
    """``{"field": "steps.nps.score", "op": "<=", "value": 6}`` → “steps.nps.score ≤ 6”."""
    op = str(rule.get("op", ""))
    text = f"{rule.get('field', '?')} {OPERATOR_WORDS.get(op, op)}"
    if op in ("is_set", "is_not_set"):
        return text
    return f"{text} {json_value_text(rule.get('value'))}"


def trigger_text(name: str) -> str:
    try:
        return f"{registry.trigger(name).label} ({name})"
    except LookupError:
        return f"{name} (not a registered trigger here)"


def cancel_on_text(names: Iterable[str]) -> list[str]:
    labels = []
    for name in names:
        cancellation = registry.cancellation(name)
        labels.append(f"{cancellation.label} ({name})" if cancellation else name)
    return labels


def filters_rows(filters: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Each filter as (what it filters, its values); “Every deal” with none."""
    if not filters:
        return [("Who enrolls", "Everyone the trigger concerns (no filters)")]
    rows = []
    for key, value in filters.items():
        label = _words(key).capitalize()
        if key in FILTER_KEYS:
            label = f"{label} — {FILTER_KEYS[key].split('(')[0].strip()}"
        rows.append((label, json_value_text(value)))
    return rows


def kind_label(name: str) -> str:
    try:
        return step_kinds.get(name).label
    except LookupError:
        return f"{name} (unknown kind)"


def _list(items: Iterable[str], *, empty: str) -> str:
    items = list(items)
    if not items:
        return empty
    return format_html("<ul>{}</ul>", format_html_join("", "<li>{}</li>", ((i,) for i in items)))


def steps_table(steps: list[dict[str, Any]]) -> str:
    """A version's steps in order: name and key, kind, timing in words, conditions,
    config as “field: value” lines."""
    rows = []
    for number, snapshot in enumerate(steps, start=1):
        step = StepDefinition.from_snapshot(snapshot)
        config = [f"{_words(path)}: {value}" for path, value in json_rows(dict(step.config))]
        rows.append(
            format_html(
                "<tr><td>{}</td><td><strong>{}</strong><br><code>{}</code></td><td>{}</td>"
                "<td>{}</td><td>{}</td><td>{}</td></tr>",
                number,
                step.name,
                step.key,
                kind_label(step.kind),
                step_timing_label(step),
                _list(map(condition_text, step.conditions), empty="Always"),
                _list(config, empty="—"),
            )
        )
    if not rows:
        return "No steps."
    return format_html(
        '<table class="playbook-table playbook-steps"><thead><tr><th scope="col">#</th>'
        '<th scope="col">Step</th><th scope="col">Kind</th><th scope="col">When</th>'
        '<th scope="col">Only if</th><th scope="col">Settings</th></tr></thead>'
        "<tbody>{}</tbody></table>",
        format_html_join("", "{}", ((row,) for row in rows)),
    )


def rows_table(rows: list[tuple[str, str]]) -> str:
    return format_html(
        '<table class="playbook-table"><tbody>{}</tbody></table>',
        format_html_join("", '<tr><th scope="row">{}</th><td>{}</td></tr>', rows),
    )
