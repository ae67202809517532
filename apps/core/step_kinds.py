"""The step-kind registry: what a playbook step can do.

Apps register kinds in their ``AppConfig.ready()`` (queues registers ``task``, later apps
register surveys, reminders, expansion prompts…). Playbooks validate step configs against
it and the engine executes through it; neither imports the apps that provide kinds.
"""

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

ConfigErrors = dict[str, list[str]]


@dataclass
class StepExecution:
    """What an executor gets: the claimed step run and the rows around it, all loaded
    inside the executing transaction. ``step`` is the step's definition from the
    enrollment's pinned playbook version."""

    step_run: Any
    enrollment: Any
    deal: Any
    account: Any
    step: dict[str, Any]
    now: dt.datetime


def _no_config_errors(config: dict[str, Any]) -> ConfigErrors:
    return {}


@dataclass(frozen=True)
class StepKind:
    name: str
    label: str
    # Writes the step's effects (rows only, no network I/O) and returns a JSON-safe result.
    execute: Callable[[StepExecution], dict[str, Any]]
    # Returns problems with a step's config, keyed by config field.
    validate_config: Callable[[dict[str, Any]], ConfigErrors] = field(default=_no_config_errors)
    # Withdraws the open effects of a step run when its enrollment is cancelled
    # (cancels a task, withdraws an unsent email). Returns how many it withdrew.
    withdraw: Callable[[Any, str], int] | None = None


_registry: dict[str, StepKind] = {}


def register(kind: StepKind) -> StepKind:
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
