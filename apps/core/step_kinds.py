"""The step-kind registry and the typed step definition every kind receives.

Apps register kinds in their ``AppConfig.ready()`` (queues registers ``task``,
notifications ``email`` and ``reminder``, later apps surveys and expansion prompts).
Playbooks validate step configs against it and the engine executes through it; neither
imports the apps that provide kinds.

A kind's settings are a Django form (``StepConfigForm``): the admin draws it as fields,
and a kind that gives no ``validate_config`` of its own is validated by its form, so the
admin, publishing and imports all check a config the same way.
"""

import datetime as dt
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from django import forms

ConfigErrors = dict[str, list[str]]


def _clock_time(value: Any) -> dt.time | None:
    if value in (None, ""):
        return None
    return value if isinstance(value, dt.time) else dt.time.fromisoformat(str(value))


@dataclass(frozen=True)
class StepDefinition:
    """One step of a published playbook version, as the engine reads it.

    Versions store steps as JSON snapshots; this is the one place that knows their
    shape. ``config`` is the kind's own settings, checked by the kind's ``validate_config``.
    """

    key: str
    name: str
    kind: str
    config: Mapping[str, Any] = field(default_factory=dict)
    start: str = "enrollment"  # or "after_step"
    after_step: str = ""
    delay_days: int = 0
    delay_hours: int = 0
    business_days: bool = False
    at_time: dt.time | None = None
    window_start: dt.time | None = None
    window_end: dt.time | None = None
    repeat_every_days: int | None = None
    repeat_max: int | None = None
    conditions: tuple[Mapping[str, Any], ...] = ()
    # "all": every rule must hold (stored as a plain list, as always); "any": one is
    # enough (stored as ``{"any": [...]}``).
    conditions_match: str = "all"

    @classmethod
    def from_snapshot(cls, data: Mapping[str, Any]) -> "StepDefinition":
        return cls(
            key=data["key"],
            name=data.get("name") or data["key"],
            kind=data["kind"],
            config=dict(data.get("config") or {}),
            start=data.get("start") or "enrollment",
            after_step=data.get("after_step") or "",
            delay_days=int(data.get("delay_days") or 0),
            delay_hours=int(data.get("delay_hours") or 0),
            business_days=bool(data.get("business_days")),
            at_time=_clock_time(data.get("at_time")),
            window_start=_clock_time(data.get("window_start")),
            window_end=_clock_time(data.get("window_end")),
            repeat_every_days=data.get("repeat_every_days") or None,
            repeat_max=data.get("repeat_max") or None,
            **conditions_from_json(data.get("conditions")),
        )

    def as_snapshot(self) -> dict[str, Any]:
        """The JSON form stored in a version (times as ``HH:MM``)."""

        def clock(value: dt.time | None) -> str | None:
            return value.strftime("%H:%M") if value else None

        return {
            "key": self.key,
            "name": self.name,
            "kind": self.kind,
            "config": dict(self.config),
            "start": self.start,
            "after_step": self.after_step,
            "delay_days": self.delay_days,
            "delay_hours": self.delay_hours,
            "business_days": self.business_days,
            "at_time": clock(self.at_time),
            "window_start": clock(self.window_start),
            "window_end": clock(self.window_end),
            "repeat_every_days": self.repeat_every_days,
            "repeat_max": self.repeat_max,
            "conditions": conditions_as_json(self.conditions, self.conditions_match),
        }

    @property
    def starts_at_enrollment(self) -> bool:
        return self.start != "after_step"

    @property
    def has_send_window(self) -> bool:
        return self.window_start is not None and self.window_end is not None


def conditions_from_json(stored: Any) -> dict[str, Any]:
    """A step's stored conditions as ``conditions`` (rules) and ``conditions_match``.

    A list (every version published so far) means all rules must hold; ``{"any": [...]}``
    means one is enough. Anything else is left for validation to refuse."""
    if isinstance(stored, Mapping):
        match = "any" if "any" in stored else "all"
        rules = stored.get(match) or ()
        return {
            "conditions": tuple(rules) if isinstance(rules, list) else (),
            "conditions_match": match,
        }
    return {"conditions": tuple(stored or ()), "conditions_match": "all"}


def conditions_as_json(rules: Any, match: str = "all") -> Any:
    """The stored form: a plain list for "all", so existing steps keep their JSON."""
    rules = [dict(rule) for rule in rules]
    return {"any": rules} if match == "any" else rules


def step_timing_label(step: StepDefinition) -> str:
    """A step's timing in words: "2 business days after “kickoff” finishes, at 10:00 the
    customer's time; repeats every 90 days"."""
    days, hours = step.delay_days, step.delay_hours
    unit = "business day" if step.business_days else "day"
    parts = []
    if days:
        parts.append(f"{days} {unit}{'s' if days != 1 else ''}")
    if hours:
        parts.append(f"{hours} hour{'s' if hours != 1 else ''}")
    delay = " and ".join(parts)
    if not step.starts_at_enrollment:
        anchor = f"after “{step.after_step}” finishes"
    else:
        anchor = "after enrollment" if delay else "at enrollment"
    text = f"{delay} {anchor}".strip()
    if step.at_time:
        text += f", at {step.at_time:%H:%M} the customer's time"
    if step.has_send_window:
        text += f", in the send window {step.window_start:%H:%M}–{step.window_end:%H:%M}"
    if step.repeat_every_days:
        text += f"; repeats every {step.repeat_every_days} days"
    if step.conditions:
        text += "; only if its conditions hold"
    return text[:1].upper() + text[1:]


@dataclass
class StepExecution:
    """What an executor gets: the claimed step run and the rows around it, all loaded
    inside the executing transaction. ``deal`` is None for an enrollment started by an
    account event when the account has no won deal (kinds that need one say so with
    ``needs_deal``, and the engine skips them with the reason)."""

    step_run: Any
    enrollment: Any
    deal: Any
    account: Any
    step: StepDefinition
    now: dt.datetime


def _no_config_errors(config: Mapping[str, Any]) -> ConfigErrors:
    return {}


def _same_value(stored: Any, read: Any) -> bool:
    """Equal, and of the same JSON type (8 and 8.0 are the same number; "3" is not 3)."""
    return stored == read and all(
        isinstance(stored, kind) == isinstance(read, kind) for kind in (str, bool, list, dict)
    )


class TemplateField(forms.CharField):
    """A title, subject or body written with placeholders (``{{ account.name }}``). The
    admin gives it a placeholder picker and a preview against a chosen deal."""

    def __init__(self, *, rows: int = 1, **kwargs: Any) -> None:
        widget = forms.Textarea(attrs={"rows": rows, "cols": 60}) if rows > 1 else forms.TextInput
        kwargs.setdefault("widget", widget)
        super().__init__(strip=False, **kwargs)

    def widget_attrs(self, widget: Any) -> dict[str, Any]:
        return {**super().widget_attrs(widget), "data-template": "true"}

    def to_python(self, value: Any) -> str:
        # Browsers send a textarea's line breaks as CRLF; templates keep plain newlines.
        return super().to_python(value).replace("\r\n", "\n")


class StepConfigForm(forms.Form):
    """A step kind's settings as a form. Each field is a key of the stored config; a
    kind whose keys and fields differ overrides ``from_config`` / ``to_config``.

    ``from_config`` binds the form to a stored config, so ``problems`` checks stored JSON
    (publishing, imports) with the same fields the admin shows."""

    @classmethod
    def form_data(cls, config: Mapping[str, Any]) -> dict[str, Any]:
        """A stored config as the form data a browser would send."""
        data: dict[str, Any] = {}
        for name, form_field in cls.base_fields.items():
            value = config.get(name, form_field.initial)
            if value is None or value is False:
                continue  # an unticked box and an empty field send nothing
            data[name] = (
                [str(v) for v in value]
                if isinstance(value, list | tuple)
                else ("on" if value is True else str(value))
            )
        return data

    @classmethod
    def from_config(cls, config: Mapping[str, Any], **kwargs: Any) -> "StepConfigForm":
        return cls(data=cls.form_data(config), **kwargs)

    def to_config(self) -> dict[str, Any]:
        """The cleaned form as a stored config; empty fields are left out."""
        config = {}
        for name, value in self.cleaned_data.items():
            if value in (None, "", [], ()):
                continue
            if isinstance(value, float) and value.is_integer():
                value = int(value)  # 8 hours is stored as 8, as an admin would write it
            config[name] = list(value) if isinstance(value, tuple) else value
        return json.loads(json.dumps(config, default=str))  # what the JSON column keeps

    @classmethod
    def problems(cls, config: Mapping[str, Any]) -> ConfigErrors:
        """Problems with a stored config, keyed by config field: the form's own, and a
        value of the wrong type (``"3"`` where a number is stored) that the form would
        read differently from the executor."""
        if not isinstance(config, Mapping):
            return {"config": ["The settings must be an object of named values."]}
        form = cls.from_config(config)
        if not form.is_valid():
            return {name: list(messages) for name, messages in form.errors.items()}
        problems: ConfigErrors = {}
        cleaned = form.to_config()
        for name in cls.base_fields:
            stored, read = config.get(name), cleaned.get(name)
            if stored not in (None, "") and name in cleaned and not _same_value(stored, read):
                problems[name] = [f"Use {json.dumps(read)}, not {json.dumps(stored)}."]
        return problems

    @classmethod
    def summary(cls, config: Mapping[str, Any]) -> str:
        """A few words for the playbook's timeline (who gets it); empty by default."""
        return ""


@dataclass(frozen=True)
class ConfigFormValidator:
    """``validate_config`` for a kind that declares only its form."""

    form: type[StepConfigForm]

    def __call__(self, config: Mapping[str, Any]) -> ConfigErrors:
        return self.form.problems(config)


@dataclass(frozen=True)
class StepKind:
    name: str
    label: str
    # Writes the step's effects (rows only, no network I/O) and returns a JSON-safe result.
    execute: Callable[[StepExecution], dict[str, Any]]
    # The batch form: the results of many executions, in order, with one statement per
    # table. An item may be an exception: that step fails alone. If it raises, the
    # engine runs the steps one by one with ``execute`` to find the culprit.
    execute_many: Callable[[list[StepExecution]], list[dict[str, Any] | Exception]] | None = None
    # Returns problems with a step's config, keyed by config field.
    validate_config: Callable[[Mapping[str, Any]], ConfigErrors] = field(default=_no_config_errors)
    # Withdraws the open effects of a step run when its enrollment is cancelled
    # (cancels a task, withdraws an unsent email). Returns how many it withdrew.
    withdraw: Callable[[Any, str], int] | None = None
    # The step reads the enrollment's deal (its owner, its amount…): without a deal it
    # is skipped with that reason instead of running.
    needs_deal: bool = False
    # For simulations: what the outside world would answer once the step ran (a
    # customer's survey score). Given the executed run and the answers the simulation
    # was asked to assume (``{"nps": "3"}``), it writes the answer and returns the events
    # that announce it, for waits to pick up.
    simulate_answer: Callable[[Any, Mapping[str, str]], list[Any]] | None = None
    # The kind's settings as a form (a ``StepConfigForm``): the admin shows its fields,
    # and without a ``validate_config`` of its own the kind is validated by it.
    config_form: type[StepConfigForm] | None = None


def one_at_a_time(
    execute_many: Callable[[list[StepExecution]], list[dict[str, Any] | Exception]],
) -> Callable[[StepExecution], dict[str, Any]]:
    """A kind's ``execute`` made from its batch form: a batch of one (its exception raised)."""

    def execute(execution: StepExecution) -> dict[str, Any]:
        [result] = execute_many([execution])
        if isinstance(result, Exception):
            raise result
        return result

    return execute


_registry: dict[str, StepKind] = {}


def register(kind: StepKind) -> StepKind:
    if kind.config_form is not None and kind.validate_config is _no_config_errors:
        kind = replace(kind, validate_config=ConfigFormValidator(kind.config_form))
    existing = _registry.get(kind.name)
    if existing is not None and existing != kind:
        raise ValueError(f"Step kind {kind.name!r} is already registered.")
    _registry[kind.name] = kind
    return kind


def get(name: str) -> StepKind:
    try:
        return _registry[name]
    except KeyError:
        known = ", ".join(sorted(_registry)) or "none"
        raise LookupError(f"Unknown step kind {name!r} (registered: {known}).") from None


def all_kinds() -> list[StepKind]:
    return sorted(_registry.values(), key=lambda k: k.name)


def choices() -> list[tuple[str, str]]:
    return [(k.name, k.label) for k in all_kinds()]
