"""Publishing playbooks: validate the draft, freeze it as an immutable version."""

from typing import Any

from django.db import transaction

from apps.core import event_registry as registry
from apps.core import step_kinds
from apps.core.errors import ValidationFailed
from apps.playbooks.conditions import conditions_problems, conditions_unknown_steps
from apps.playbooks.filters import filters_problems
from apps.playbooks.models import Playbook, PlaybookStep, PlaybookVersion


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
            for field, messages in kind.validate_config(step.get("config") or {}).items():
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
