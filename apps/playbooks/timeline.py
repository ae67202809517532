"""A step in a few words, for the playbook builder's timeline:
"Day 30 at 10:00 — NPS survey (survey, nps)", "After NPS answer: if score ≤ 6 — …"."""

from collections.abc import Mapping

from apps.core import step_kinds
from apps.core.step_kinds import StepDefinition
from apps.playbooks.conditions import rule_text


def _when(step: StepDefinition, names: Mapping[str, str]) -> str:
    unit = "business day" if step.business_days else "day"
    if step.starts_at_enrollment:
        when = f"{unit.capitalize()} {step.delay_days}"
        if step.delay_hours:
            when += f" + {step.delay_hours} h"
    else:
        when = f"After {names.get(step.after_step, step.after_step or '?')}"
        if step.delay_days:
            when += f" + {step.delay_days} {unit}{'s' if step.delay_days != 1 else ''}"
        if step.delay_hours:
            when += f" + {step.delay_hours} h"
    if step.at_time:
        when += f" at {step.at_time:%H:%M}"
    return when


def step_headline(
    step: StepDefinition,
    *,
    names: Mapping[str, str],
    field_labels: Mapping[str, str] | None = None,
) -> str:
    """``names`` maps step keys to names (for "After …"); ``field_labels`` words the
    condition fields ("NPS answer: score")."""
    try:
        kind = step_kinds.get(step.kind)
    except LookupError:
        detail = ""
    else:
        detail = kind.config_form.summary(step.config) if kind.config_form else ""
    what = f"{step.name} ({step.kind}{', ' + detail if detail else ''})"
    headline = f"{_when(step, names)}"
    if step.conditions:
        labels = dict(field_labels or {})
        # "After NPS answer: if band = detractor": the step it follows goes without saying.
        own = f"steps.{step.after_step}."
        for rule in step.conditions:
            field = str(rule.get("field", ""))
            if step.after_step and field.startswith(own):
                labels[field] = field.removeprefix(own)
        joiner = " or " if step.conditions_match == "any" else " and "
        headline += ": if " + joiner.join(rule_text(r, labels) for r in step.conditions)
    headline += f" — {what}"
    if step.repeat_every_days:
        times = f", up to {step.repeat_max} times" if step.repeat_max else ""
        headline += f" · every {step.repeat_every_days} days{times}"
    return headline
