"""The playbook builder's forms: a playbook's trigger, filters and cancel rules, and each
step's settings, timing and conditions as fields. The JSON they store is the same as
before; nobody types it."""

import json
from decimal import Decimal
from typing import Any

from django import forms
from django.forms.models import BaseInlineFormSet
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.choices import CallableChoiceIterator
from django.utils.safestring import mark_safe

from apps.core import event_registry, step_kinds
from apps.core.step_kinds import StepConfigForm, TemplateField, conditions_as_json
from apps.customers.models import Account, Product
from apps.deals.models import Deal
from apps.playbooks.conditions import (
    MATCHES,
    OPERATOR_LABELS,
    RECORD_FIELDS,
    conditions_problems,
    conditions_unknown_steps,
)
from apps.playbooks.models import Playbook, PlaybookStep
from apps.playbooks.placeholders import PLACEHOLDERS, wait_step_fields
from apps.playbooks.services import (
    default_cancel_on,
    playbook_settings_problems,
    step_settings_problems,
)
from apps.playbooks.timeline import step_headline

# Playbook --------------------------------------------------------------------------------


def _segment_choices() -> list[tuple[str, str]]:
    segments = Account.objects.exclude(segment="").values_list("segment", flat=True)
    return [(segment, segment) for segment in sorted(set(segments))]


def _country_choices() -> list[tuple[str, str]]:
    import pycountry

    return sorted(((c.alpha_2, c.name) for c in pycountry.countries), key=lambda c: c[1])


def _product_choices() -> list[tuple[str, str]]:
    return [
        (sku, f"{name} ({sku})")
        for sku, name in Product.objects.order_by("name").values_list("sku", "name")
    ]


def _family_choices() -> list[tuple[str, str]]:
    names = Product.objects.exclude(family=None).values_list("family__name", flat=True)
    return [(name, name) for name in sorted(set(names))]


def _multi(label: str, choices: Any) -> forms.MultipleChoiceField:
    return forms.MultipleChoiceField(
        label=label,
        choices=choices,
        required=False,
        widget=forms.SelectMultiple(attrs={"size": 5}),
        help_text="None chosen: any.",
    )


LIST_FILTERS = (
    "deal_kinds",
    "account_tiers",
    "account_segments",
    "countries",
    "product_families",
    "products_bought",
    "products_not_bought",
)
AMOUNT_FILTERS = ("min_amount", "max_amount")


def payload_filter_name(trigger: str, key: str) -> str:
    """The form field of a trigger's own filter (the stage a deal entered)."""
    return f"when_{trigger.replace('.', '_')}_{key}"


def payload_filter_fields() -> dict[str, tuple[str, str]]:
    """Form field name → (trigger, filter key), for every registered trigger's filters."""
    return {
        payload_filter_name(trigger.name, f.key): (trigger.name, f.key)
        for trigger in event_registry.triggers()
        for f in trigger.payload_filters
    }


def choices_read_once(form: forms.BaseForm, read: dict[Any, list]) -> None:
    """Give ``form``'s choice fields the lists already in ``read`` (keyed by the function
    that makes them), reading the others once. A list read from the database (queues,
    surveys, people, products) is otherwise read again by every field and every step
    that shows it, whenever its choices are iterated."""
    for form_field in form.fields.values():
        choices = getattr(form_field, "choices", None)
        if isinstance(choices, CallableChoiceIterator):
            if choices.func not in read:
                read[choices.func] = list(choices)
            form_field.choices = read[choices.func]


def _number(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)


class PlaybookForm(forms.ModelForm):
    trigger = forms.ChoiceField(
        choices=event_registry.trigger_choices,
        initial=Playbook._meta.get_field("trigger").default,  # a new playbook's, too
        help_text="The event that starts this playbook for an account.",
    )
    # The list filters of ``filters.FILTER_KEYS``, named as they are stored.
    deal_kinds = _multi("Deal kinds", Deal.Kind.choices)
    account_tiers = _multi("Account tiers", Account.Tier.choices)
    account_segments = _multi("Account segments", _segment_choices)
    countries = _multi("Countries", _country_choices)
    product_families = _multi("Bought a product of the families", _family_choices)
    products_bought = _multi("Bought any of the products", _product_choices)
    products_not_bought = _multi("Bought none of the products", _product_choices)
    min_amount = forms.DecimalField(required=False, label="Deal amount from", min_value=0)
    max_amount = forms.DecimalField(required=False, label="Deal amount up to", min_value=0)
    cancel_on = forms.MultipleChoiceField(
        choices=event_registry.cancellation_choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Cancel a running enrollment when",
        help_text="Pending steps, open tasks and unsent emails are cancelled with the reason.",
    )

    class Meta:
        model = Playbook
        fields = (
            "name",
            "description",
            "trigger",
            "enrollment_policy",
            "account_cooldown_days",
            "cancel_on",
        )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices_read_once(self, {})
        stored = self.instance.filters or {}
        for name in LIST_FILTERS:
            self.initial.setdefault(name, stored.get(name, []))
            # A stored value no longer on offer (a product since renamed) stays choosable.
            offered = {value for value, _ in self.fields[name].choices}
            missing = [v for v in stored.get(name) or [] if str(v) not in offered]
            if missing:
                choices = list(self.fields[name].choices)
                self.fields[name].choices = [*choices, *((str(v), str(v)) for v in missing)]
        for name in AMOUNT_FILTERS:
            self.initial.setdefault(name, stored.get(name))
        for name, (trigger, key) in payload_filter_fields().items():
            registered = event_registry.trigger(trigger)
            payload_filter = next(f for f in registered.payload_filters if f.key == key)
            self.fields[name] = forms.MultipleChoiceField(
                label=f"{payload_filter.label} (when the trigger is “{registered.label}”)",
                choices=payload_filter.choices,
                required=False,
                widget=forms.CheckboxSelectMultiple,
            )
            if self.instance.trigger == trigger:
                self.initial.setdefault(name, stored.get(key, []))
        # No cancel rule stored means every cancel event: shown as every box ticked.
        self.initial["cancel_on"] = self.instance.cancel_on or default_cancel_on()

    def clean_cancel_on(self) -> list[str]:
        chosen = self.cleaned_data["cancel_on"]
        if not chosen:
            raise forms.ValidationError("Tick at least one event that ends the enrollment.")
        # Every box ticked is stored as before: empty, "every registered cancel event".
        return [] if set(chosen) == set(default_cancel_on()) else chosen

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        low, high = cleaned.get("min_amount"), cleaned.get("max_amount")
        if low is not None and high is not None and low > high:
            self.add_error("max_amount", "The largest amount is below the smallest.")
        filters: dict[str, Any] = {
            name: list(cleaned[name]) for name in LIST_FILTERS if cleaned.get(name)
        }
        filters.update(
            {
                name: _number(cleaned[name])
                for name in AMOUNT_FILTERS
                if cleaned.get(name) is not None
            }
        )
        trigger = cleaned.get("trigger")
        for name, (payload_trigger, key) in payload_filter_fields().items():
            if payload_trigger == trigger and cleaned.get(name):
                filters[key] = list(cleaned[name])
        if self.errors:
            return cleaned
        problems = playbook_settings_problems(
            trigger=trigger, filters=filters, cancel_on=cleaned.get("cancel_on") or []
        )
        for field, field_messages in problems.items():
            self.add_error(field if field in self.fields else None, field_messages)
        self.instance.filters = filters
        return cleaned


# Conditions ------------------------------------------------------------------------------


def _shown_value(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(map(str, value))
    return "" if value is None else str(value)


def _stored_value(text: str) -> Any:
    """What an admin typed, as the rule stores it: a number where it reads as one."""
    text = text.strip()
    try:
        number = Decimal(text)
    except ArithmeticError:
        return text
    if not number.is_finite():
        return text
    return _number(number)


class ConditionRowsWidget(forms.Widget):
    """Rules as rows (field, operator, value) and whether all or any must hold. It draws
    the stored rules and two empty rows; the value it reads back is
    ``{"match": …, "rows": [{"field", "op", "value"}, …]}`` as typed."""

    template_name = "admin/playbooks/playbook/_condition_rows.html"
    blank_rows = 2

    def __init__(self, attrs: dict | None = None) -> None:
        super().__init__(attrs)
        self.field_choices: list[tuple[str, str]] = list(RECORD_FIELDS)

    def format_value(self, value: Any) -> dict[str, Any]:
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError:
                value = []
        if isinstance(value, dict) and "rows" in value:
            return value  # the posted rows, drawn back with their errors
        parsed = step_kinds.conditions_from_json(value)
        rows = [
            {
                "field": r.get("field", ""),
                "op": r.get("op", ""),
                "value": _shown_value(r.get("value")),
            }
            for r in parsed["conditions"]
            if isinstance(r, dict)
        ]
        return {"match": parsed["conditions_match"], "rows": rows}

    def get_context(self, name: str, value: Any, attrs: dict | None) -> dict[str, Any]:
        context = super().get_context(name, value, attrs)
        shown = context["widget"]["value"]
        rows = [
            *shown["rows"],
            *({"field": "", "op": "", "value": ""} for _ in range(self.blank_rows)),
        ]
        known = dict(self.field_choices)
        extra = [(r["field"], r["field"]) for r in rows if r["field"] and r["field"] not in known]
        context["widget"].update(
            match=shown.get("match") or "all",
            matches=list(MATCHES.items()),
            rows=rows,
            field_choices=[*self.field_choices, *dict(extra).items()],
            operators=list(OPERATOR_LABELS.items()),
        )
        return context

    def _render(self, template_name: str, context: dict, renderer: Any = None) -> str:
        # The project's templates, not only the form renderer's built-in ones.
        return mark_safe(render_to_string(template_name, context))

    def value_from_datadict(self, data: Any, files: Any, name: str) -> dict[str, Any]:
        count = data.get(f"{name}-rows", "0")
        count = int(count) if str(count).isdecimal() else 0
        rows = [
            {
                "field": data.get(f"{name}-{i}-field", ""),
                "op": data.get(f"{name}-{i}-op", ""),
                "value": data.get(f"{name}-{i}-value", ""),
            }
            for i in range(min(count, 50))
        ]
        return {"match": data.get(f"{name}-match", "all"), "rows": rows}

    def value_omitted_from_data(self, data: Any, files: Any, name: str) -> bool:
        return f"{name}-rows" not in data


class ConditionRowsField(forms.Field):
    widget = ConditionRowsWidget

    def to_python(self, value: Any) -> Any:
        if not isinstance(value, dict) or "rows" not in value:
            return value  # stored JSON, unchanged
        problems, rules = [], []
        for number, row in enumerate(value["rows"], start=1):
            field, op, text = row["field"].strip(), row["op"], row["value"]
            if not field and not text.strip():
                continue  # an empty row
            if not field:
                problems.append(f"Rule {number}: choose what it reads.")
                continue
            if op not in OPERATOR_LABELS:
                problems.append(f"Rule {number}: choose an operator.")
                continue
            rule: dict[str, Any] = {"field": field, "op": op}
            if op in ("in", "not_in"):
                rule["value"] = [_stored_value(part) for part in text.split(",") if part.strip()]
            elif op not in ("is_set", "is_not_set"):
                if not text.strip():
                    problems.append(f"Rule {number}: give the value to compare with.")
                    continue
                rule["value"] = _stored_value(text)
            rules.append(rule)
        if problems:
            raise forms.ValidationError(problems)
        match = value.get("match") if value.get("match") in MATCHES else "all"
        return conditions_as_json(rules, match)

    def validate(self, value: Any) -> None:
        if problems := conditions_problems(value if value is not None else []):
            raise forms.ValidationError(problems)


def wait_step_fields_json() -> str:
    """``wait_step_fields`` for every waitable event ("" for none chosen yet), for the
    builder's script to offer a wait step's fields while the page is being edited."""
    events = ["", *(w.name for w in event_registry.waitables())]
    return json.dumps({event: wait_step_fields(event) for event in events}, ensure_ascii=False)


def condition_field_choices(steps: list[PlaybookStep]) -> list[tuple[str, str]]:
    """What a condition can read: the deal and the account, and for each wait step its
    outcome and the facts its event brings (a survey's score, band and comment)."""
    choices = list(RECORD_FIELDS)
    for step in steps:
        if step.kind != "wait":
            continue
        until_event = str((step.config or {}).get("until_event"))
        for fact, label in wait_step_fields(until_event):
            choices.append((f"steps.{step.key}.{fact}", f"{step.name}: {label}"))
    return choices


# Steps -----------------------------------------------------------------------------------


class RawConfigForm(StepConfigForm):
    """For a kind that declares no form: its settings as JSON, the one place left."""

    config = forms.JSONField(
        required=False,
        label="Settings (JSON)",
        widget=forms.Textarea(attrs={"rows": 4, "cols": 60}),
        help_text="This kind of step declares no fields; its settings are written as JSON.",
    )

    @classmethod
    def form_data(cls, config: Any) -> dict[str, Any]:
        return {"config": json.dumps(dict(config), ensure_ascii=False, indent=2)}

    def to_config(self) -> dict[str, Any]:
        return self.cleaned_data.get("config") or {}

    def clean_config(self) -> dict[str, Any]:
        config = self.cleaned_data.get("config")
        if config not in (None, "") and not isinstance(config, dict):
            raise forms.ValidationError('Write an object, e.g. {"queue": "onboarding"}.')
        return config or {}


def config_form_class(kind_name: str) -> type[StepConfigForm]:
    try:
        kind = step_kinds.get(kind_name)
    except LookupError:
        return RawConfigForm
    return kind.config_form or RawConfigForm


def step_config_form(
    kind_name: str,
    *,
    prefix: str,
    data: Any = None,
    config: dict | None = None,
    choices_read: dict[Any, list] | None = None,
) -> StepConfigForm:
    """The settings form of a step of ``kind_name``: bound to posted ``data``, or showing
    a stored ``config`` (or the kind's defaults). Steps of one page share ``choices_read``
    (see ``choices_read_once``)."""
    form_class = config_form_class(kind_name)
    # As in the step forms around it: the server says what is missing, next to the field
    # (a browser would refuse to send the page over the hidden template of a new step).
    options = {"prefix": prefix, "use_required_attribute": False}
    if data is not None:
        form = form_class(data=data, **options)
    elif config:
        form = form_class(initial=_initial(form_class, config), **options)
    else:
        form = form_class(**options)
    choices_read_once(form, {} if choices_read is None else choices_read)
    preview = reverse("admin:playbooks_playbook_template_preview")
    for name, form_field in form.fields.items():
        if isinstance(form_field, TemplateField):
            form_field.widget.attrs.update(
                {
                    "hx-get": preview,
                    "hx-trigger": "keyup changed delay:400ms, change",
                    "hx-include": "#preview-deal, #preview-steps",
                    "hx-target": "next .template-preview",
                    "hx-sync": "this:queue last",
                }
            )
        elif name in ("for_step", "answer_step"):
            form_field.widget.attrs["list"] = "playbook-step-keys"
    form.template_fields = [name for name, f in form.fields.items() if isinstance(f, TemplateField)]
    return form


def _initial(form_class: type[StepConfigForm], config: dict) -> dict[str, Any]:
    if form_class is RawConfigForm:
        return RawConfigForm.form_data(config)
    return {name: config[name] for name in form_class.base_fields if name in config}


class PlaybookStepForm(forms.ModelForm):
    kind = forms.ChoiceField(choices=step_kinds.choices, initial="task")
    conditions = ConditionRowsField(
        required=False,
        label="Only if",
        help_text="Empty rows are ignored; with no rule the step always runs. A wait's "
        "outcome is “event” or “timeout”. For “is one of”, separate the values with commas.",
    )

    class Meta:
        model = PlaybookStep
        fields = (
            "position",
            "key",
            "name",
            "kind",
            "start",
            "after_step",
            "delay_days",
            "delay_hours",
            "business_days",
            "at_time",
            "window_start",
            "window_end",
            "repeat_every_days",
            "repeat_max",
            "conditions",
        )
        widgets = {
            "position": forms.NumberInput(attrs={"class": "step-position", "min": 0}),
            "after_step": forms.TextInput(attrs={"list": "playbook-step-keys"}),
        }

    def __init__(
        self,
        *args: Any,
        siblings: list[PlaybookStep] | None = None,
        choices_read: dict[Any, list] | None = None,
        **kwargs: Any,
    ):
        super().__init__(*args, **kwargs)
        choices_read = {} if choices_read is None else choices_read
        choices_read_once(self, choices_read)
        self.siblings = siblings or []
        self.stored = dict(self.instance.config or {})
        self.fields["conditions"].widget.field_choices = condition_field_choices(self.siblings)
        self.fields["kind"].widget.attrs.update(
            {
                "hx-get": reverse("admin:playbooks_playbook_step_config"),
                "hx-target": "next .step-config",
                "hx-swap": "innerHTML",
                "class": "step-kind",
            }
        )
        kind = self.data.get(self.add_prefix("kind")) if self.is_bound else None
        kind = kind or self.instance.kind or self.fields["kind"].initial
        stored = self.instance.config if kind == self.instance.kind else None
        self.config_form = step_config_form(
            kind,
            prefix=self.add_prefix("config"),
            data=self.data if self.is_bound else None,
            config=stored,
            choices_read=choices_read,
        )

    def has_changed(self) -> bool:
        # The settings are not fields of this form; the formset saves only changed steps.
        config = getattr(self, "cleaned_config", None)
        return super().has_changed() or (config is not None and config != self.stored)

    @property
    def headline(self) -> str:
        if self.instance.pk is None:
            return "New step"
        names = {step.key: step.name for step in self.siblings}
        labels = dict(condition_field_choices(self.siblings))
        return step_headline(self.instance.as_definition(), names=names, field_labels=labels)

    @property
    def stored_config(self) -> str:
        return json.dumps(self.instance.config or {}, ensure_ascii=False, indent=2)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        kind = cleaned.get("kind")
        if not self.config_form.is_valid():
            self.add_error(None, "Check this step's settings: the problems are under each field.")
            return cleaned
        config = self.config_form.to_config()
        if kind == self.instance.kind and self.instance.pk:
            stored = self.instance.config or {}
            # Keys the form does not show (an older setting) are kept as they were, and a
            # default the stored config left out stays out: an untouched step keeps its JSON.
            kept = set(stored) - set(self.config_form.fields)
            defaults = {
                name
                for name, form_field in self.config_form.fields.items()
                if name not in stored and config.get(name) == form_field.initial
            }
            config = {
                **{key: stored[key] for key in kept},
                **{key: value for key, value in config.items() if key not in defaults},
            }
        # The kind's own rules, the ones publishing applies, next to the field they name.
        if kind:
            problems = step_kinds.get(kind).validate_config(config)
            for field, field_messages in problems.items():
                target = field if field in self.config_form.fields else None
                for message in field_messages:
                    self.config_form.add_error(target, message if target else f"{field}: {message}")
            if problems:
                self.add_error(
                    None, "Check this step's settings: the problems are under each field."
                )
        if cleaned.get("start") == PlaybookStep.Start.AFTER_STEP and not cleaned.get("after_step"):
            self.add_error("after_step", "Name the step this one waits for.")
        self.instance.config = self.cleaned_config = config
        return cleaned


class PlaybookStepFormSet(BaseInlineFormSet):
    """Gives every step form the playbook's saved steps: conditions can read the
    results of its wait steps, and the timeline names the step a step comes after. The
    steps share their choice lists, so the page reads each once however many steps it has."""

    def get_form_kwargs(self, index: int | None) -> dict[str, Any]:
        if not hasattr(self, "_siblings"):
            # The formset's own queryset: the steps are read once for the forms and this.
            self._siblings = list(self.get_queryset()) if self.instance.pk else []
            self._choices_read: dict[Any, list] = {}
        return {
            **super().get_form_kwargs(index),
            "siblings": self._siblings,
            "choices_read": self._choices_read,
        }

    @property
    def wait_step_fields_json(self) -> str:
        return wait_step_fields_json()

    def clean(self) -> None:
        """A step may name any step of the page as submitted (one added in the same
        submission included, one marked for deletion not): in a condition, as the step it
        comes after, in its settings (the step a wait waits on). Its templates may read
        the facts of the page's wait steps."""
        super().clean()
        kept = [
            form
            for form in self.forms
            if hasattr(form, "cleaned_data") and not self._should_delete_form(form)
        ]
        # A key refused for its own reason (taken twice) still names its step here.
        keys = {
            form.cleaned_data.get("key") or str(form.data.get(form.add_prefix("key"), "")).strip()
            for form in kept
        } - {""}
        steps = [
            {
                "key": form.cleaned_data.get("key"),
                "name": form.cleaned_data.get("name"),
                "kind": form.cleaned_data.get("kind"),
                "config": getattr(form, "cleaned_config", None) or {},
            }
            for form in kept
        ]
        for form in kept:
            if problems := conditions_unknown_steps(form.cleaned_data.get("conditions"), keys):
                form.add_error("conditions", problems)
            after = form.cleaned_data.get("after_step")
            if form.cleaned_data.get("start") == PlaybookStep.Start.AFTER_STEP and after:
                if after not in keys:
                    form.add_error("after_step", f"There is no step with the key “{after}”.")
                elif after == form.cleaned_data.get("key"):
                    form.add_error("after_step", "A step cannot wait for itself.")
            self._settings_clean(form, steps=steps, keys=keys)

    @staticmethod
    def _settings_clean(form: PlaybookStepForm, *, steps: list[dict], keys: set[str]) -> None:
        """The settings' problems that depend on the other steps, under their fields."""
        kind_name = form.cleaned_data.get("kind")
        config = getattr(form, "cleaned_config", None)
        if not kind_name or config is None:
            return  # refused already, with its own reason
        kind = step_kinds.get(kind_name)
        problems = step_settings_problems(kind=kind, config=config, steps=steps, keys=keys)
        shown = False
        for field, field_messages in problems.items():
            if field not in form.config_form.fields or form.config_form.has_error(field):
                continue
            for message in field_messages:
                form.config_form.add_error(field, message)
            shown = True
        notice = "Check this step's settings: the problems are under each field."
        if shown and notice not in form.non_field_errors():
            form.add_error(None, notice)


def placeholder_choices() -> list[tuple[str, str]]:
    return [(f"{{{{ {path} }}}}", label) for path, label in PLACEHOLDERS]
