"""Publishing playbooks: validate the draft, freeze it as an immutable version."""

from typing import Any

from django.db import transaction

from apps.core import event_registry as registry
from apps.core import step_kinds
from apps.core.errors import ValidationFailed
from apps.playbooks.conditions import conditions_problems, conditions_unknown_steps
from apps.playbooks.filters import filters_problems
from apps.playbooks.models import Playbook, PlaybookStep, PlaybookVersion
from apps.playbooks.placeholders import template_placeholder_problems

# Settings of a kind that name another step of the playbook by its key: the step a wait
# waits on, the wait step whose survey answer a referral request reads.
STEP_KEY_SETTINGS = ("for_step", "answer_step")


def template_settings(kind: step_kinds.StepKind) -> list[str]:
    """The settings of a kind written with placeholders (its form's ``TemplateField``s)."""
    form = kind.config_form
    if form is None:
        return []
    return [name for name, f in form.base_fields.items() if isinstance(f, step_kinds.TemplateField)]


def step_settings_problems(
    *, kind: step_kinds.StepKind, config: Any, steps: list[dict[str, Any]], keys: Any
) -> dict[str, list[str]]:
    """What a step's settings get wrong about the playbook around it, keyed by setting: a
    template naming what its context does not hold (``steps``: the playbook's steps, whose
    wait steps add their facts), a step key (``keys``) that no step has."""
    problems: dict[str, list[str]] = {}
    if not isinstance(config, dict):
        return problems
    for name in template_settings(kind):
        text = config.get(name)
        if isinstance(text, str) and (found := template_placeholder_problems(text, steps=steps)):
            problems[name] = found
    for name in STEP_KEY_SETTINGS:
        named = config.get(name)
        if isinstance(named, str) and named and named not in keys:
            problems[name] = [f"There is no step with the key “{named}”."]
    return problems


def default_cancel_on() -> list[str]:
    """Every registered cancel event: what a playbook with no cancel rules cancels on."""
    return [c.name for c in registry.cancellations()]


def playbook_settings_problems(
    *, trigger: str, filters: Any, cancel_on: Any
) -> dict[str, list[str]]:
    """Problems with a playbook's trigger, filters and cancel rules, keyed by field."""
    problems: dict[str, list[str]] = {}
    try:
        payload_filters = registry.trigger(trigger).payload_filters
    except LookupError as exc:
        problems["trigger"] = [str(exc)]
        payload_filters = ()
    problems.update(filters_problems(filters, payload_filters=payload_filters))
    known = default_cancel_on()
    if not isinstance(cancel_on, list) or set(map(str, cancel_on)) - set(known):
        problems["cancel_on"] = [f"Cancel on a list of: {', '.join(known)}."]
    return problems


def playbook_steps_problems(steps: list[dict[str, Any]]) -> dict[str, list[str]]:
    """Problems with a list of step definitions, keyed ``steps`` / ``<key>.<field>``."""
    problems: dict[str, list[str]] = {}

    def add(field: str, message: str) -> None:
        problems.setdefault(field, []).append(message)

    if not steps:
        add("steps", "A playbook needs at least one step.")
    keys = [s["key"] for s in steps]
    for key in sorted({k for k in keys if keys.count(k) > 1}):
        add(f"{key}.key", f"The step key “{key}” is used more than once.")
    known = set(keys)
    for step in steps:
        key = step["key"]
        try:
            kind = step_kinds.get(step["kind"])
        except LookupError as exc:
            add(f"{key}.kind", str(exc))
        else:
            config = step.get("config") or {}
            for field, messages in kind.validate_config(config).items():
                for message in messages:
                    add(f"{key}.config.{field}", message)
            around = step_settings_problems(kind=kind, config=config, steps=steps, keys=known)
            for field, messages in around.items():
                for message in messages:
                    add(f"{key}.config.{field}", message)
        conditions = step.get("conditions") or []
        for message in conditions_problems(conditions) or conditions_unknown_steps(
            conditions, known
        ):
            add(f"{key}.conditions", message)
        if bool(step.get("window_start")) != bool(step.get("window_end")):
            add(f"{key}.window_end", "Give both the start and the end of the send window.")
        elif step.get("window_start") and step["window_start"] >= step["window_end"]:
            add(f"{key}.window_end", "The send window must end after it starts.")
        if step.get("repeat_max") and not step.get("repeat_every_days"):
            add(f"{key}.repeat_every_days", "Say how many days apart the repetitions are.")
        if step.get("start") == PlaybookStep.Start.AFTER_STEP:
            after = step.get("after_step")
            if not after:
                add(f"{key}.after_step", "Name the step this one waits for.")
            elif after not in known:
                add(f"{key}.after_step", f"There is no step with the key “{after}”.")
            elif after == key:
                add(f"{key}.after_step", "A step cannot wait for itself.")
    # A cycle of "after" references would mean none of its steps ever starts.
    after_of = {s["key"]: s.get("after_step") for s in steps if s.get("start") == "after_step"}
    for start in after_of:
        seen, current = [start], after_of.get(start)
        while current in after_of and current not in seen:
            seen.append(current)
            current = after_of.get(current)
        if current == start and len(seen) > 1:
            add(
                f"{start}.after_step",
                "These steps wait for each other: " + " → ".join([*seen, start]),
            )
    return problems


@transaction.atomic
def playbook_publish(*, playbook: Playbook, actor: Any) -> PlaybookVersion:
    """Freeze the playbook's draft steps into a new version and make it current."""
    playbook = Playbook.objects.select_for_update().get(pk=playbook.pk)
    steps = [step.as_snapshot() for step in playbook.steps.all()]
    problems = playbook_steps_problems(steps)
    problems.update(
        playbook_settings_problems(
            trigger=playbook.trigger, filters=playbook.filters, cancel_on=playbook.cancel_on or []
        )
    )
    if problems:
        raise ValidationFailed(f"“{playbook.name}” cannot be published.", problems)
    last = playbook.versions.order_by("-number").values_list("number", flat=True).first() or 0
    version = PlaybookVersion.objects.create(
        playbook=playbook,
        number=last + 1,
        trigger=playbook.trigger,
        filters=playbook.filters,
        cancel_on=playbook.cancel_on or default_cancel_on(),
        steps=steps,
        published_by=actor if getattr(actor, "pk", None) else None,
    )
    playbook.current_version = version
    playbook.status = Playbook.Status.ACTIVE
    playbook.save(update_fields=["current_version", "status", "updated_at"])
    return version


@transaction.atomic
def playbook_archive(*, playbook: Playbook, actor: Any) -> Playbook:
    """Stop enrolling new deals. Running enrollments finish on their pinned version;
    publishing again makes the playbook active."""
    playbook = Playbook.objects.select_for_update().get(pk=playbook.pk)
    playbook.status = Playbook.Status.ARCHIVED
    playbook.save(update_fields=["status", "updated_at"])
    return playbook
