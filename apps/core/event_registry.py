"""What the engine listens to, registered by the apps that own the events.

Three kinds of registration, made in an app's ``AppConfig.ready()`` next to its step
kinds:

- a **trigger** starts playbooks: ``deal.closed_won``, ``deal.stage_entered``, and later
  ``survey.answered`` or ``account.usage_threshold_crossed``. It says how to find the
  account (and the deal, where there is one) an event concerns, and which playbook
  filters read the event's payload (the stage a deal entered);
- a **waitable** event finishes a ``wait`` step on another step's effect (a task
  completed, a survey answered); its payload lands in the enrollment context;
- a **cancellation** ends the running enrollments of a deal or an account.

The engine subscribes to whatever is registered; it never names another app's events.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from apps.core.models import DomainEvent


@dataclass(frozen=True)
class Subject:
    """The account an event concerns, and its deal when it concerns one."""

    account_id: int
    deal_id: int | None = None


def deal_subject(event: DomainEvent) -> Subject | None:
    """For events whose payload names ``deal_id`` and ``account_id`` (deal transitions)."""
    payload = event.payload or {}
    if not payload.get("account_id"):
        return None
    return Subject(account_id=payload["account_id"], deal_id=payload.get("deal_id"))


def account_subject(event: DomainEvent) -> Subject | None:
    """For events about an account: its id is the aggregate or in the payload."""
    if event.aggregate_type == "account":
        return Subject(account_id=event.aggregate_id)
    account_id = (event.payload or {}).get("account_id")
    return Subject(account_id=account_id) if account_id else None


@dataclass(frozen=True)
class PayloadFilter:
    """A playbook filter that reads the triggering event's payload, e.g. the stage a
    deal entered. Stored in the playbook's filters under ``key`` as a list of values."""

    key: str
    label: str
    payload_field: str
    choices: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Trigger:
    name: str
    label: str
    subject: Callable[[DomainEvent], Subject | None]
    # The outbox events that fire it; by default the event of the same name. A trigger
    # may stand for several (a deal "entered a stage" by any transition).
    emitted_as: tuple[str, ...] = ()
    payload_filters: tuple[PayloadFilter, ...] = ()

    @property
    def event_names(self) -> tuple[str, ...]:
        return self.emitted_as or (self.name,)


def _payload_target(event: DomainEvent) -> tuple[int, str] | None:
    payload = event.payload or {}
    enrollment_id, step_key = payload.get("enrollment_id"), payload.get("step_key")
    if not enrollment_id or not step_key:
        return None
    return int(enrollment_id), str(step_key)


# Payload fields that route an event rather than describe it; not copied to the context.
ROUTING_FIELDS = frozenset({"enrollment_id", "step_key", "step_run_id", "deal_id", "account_id"})


def _payload_facts(event: DomainEvent) -> dict[str, Any]:
    return {k: v for k, v in (event.payload or {}).items() if k not in ROUTING_FIELDS}


@dataclass(frozen=True)
class Waitable:
    name: str
    label: str
    # Which enrollment and step the event's effect belongs to (by default the payload's
    # ``enrollment_id`` and ``step_key``, written by the step's executor).
    target: Callable[[DomainEvent], tuple[int, str] | None] = _payload_target
    # What of the event later conditions may read, as ``steps.<step_key>.<field>``.
    facts: Callable[[DomainEvent], Mapping[str, Any]] = _payload_facts
    # The facts worth a condition, as (field, label): the playbook builder offers
    # "NPS answer: score" for a wait on this event.
    fields: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Cancellation:
    name: str
    label: str
    # A subject with a deal cancels that deal's enrollments; without, the account's.
    subject: Callable[[DomainEvent], Subject | None]


_triggers: dict[str, Trigger] = {}
_waitables: dict[str, Waitable] = {}
_cancellations: dict[str, Cancellation] = {}


def _register(table: dict[str, Any], item: Any, what: str) -> Any:
    existing = table.get(item.name)
    if existing is not None and existing != item:
        raise ValueError(f"The {what} {item.name!r} is already registered.")
    table[item.name] = item
    return item


def register_trigger(trigger: Trigger) -> Trigger:
    return _register(_triggers, trigger, "trigger")


def register_waitable(waitable: Waitable) -> Waitable:
    return _register(_waitables, waitable, "waitable event")


def register_cancellation(cancellation: Cancellation) -> Cancellation:
    return _register(_cancellations, cancellation, "cancel event")


def trigger(name: str) -> Trigger:
    try:
        return _triggers[name]
    except KeyError:
        known = ", ".join(sorted(_triggers)) or "none"
        raise LookupError(f"Unknown trigger {name!r} (registered: {known}).") from None


def triggers() -> list[Trigger]:
    return sorted(_triggers.values(), key=lambda t: t.name)


def triggers_fired_by(event_name: str) -> list[Trigger]:
    return [t for t in triggers() if event_name in t.event_names]


def is_trigger_event(event_name: str) -> bool:
    return any(event_name in t.event_names for t in _triggers.values())


def waitable(name: str) -> Waitable | None:
    return _waitables.get(name)


def waitables() -> list[Waitable]:
    return sorted(_waitables.values(), key=lambda w: w.name)


def is_waitable(event_name: str) -> bool:
    return event_name in _waitables


def cancellation(name: str) -> Cancellation | None:
    return _cancellations.get(name)


def cancellations() -> list[Cancellation]:
    return sorted(_cancellations.values(), key=lambda c: c.name)


def is_cancellation(event_name: str) -> bool:
    return event_name in _cancellations


def trigger_choices() -> list[tuple[str, str]]:
    return [(t.name, t.label) for t in triggers()]


def cancellation_choices() -> list[tuple[str, str]]:
    return [(c.name, c.label) for c in cancellations()]


def waitable_choices() -> list[tuple[str, str]]:
    return [(w.name, w.label) for w in waitables()]
