"""The events a webhook subscription can ask for: Afterwin's public contract.

Internal event names may change; these are the ones integrators build on, so the list
is written out here rather than read from whatever the apps happen to emit. Each name is
an outbox event (``apps.core.events``) emitted by the app that owns it.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class EventType:
    name: str
    label: str
    description: str


EVENT_TYPES: tuple[EventType, ...] = (
    EventType("deal.closed_won", "Deal closed won", "A deal was closed as won."),
    EventType("deal.closed_lost", "Deal closed lost", "A deal was closed as lost."),
    EventType("deal.reopened", "Deal reopened", "A closed deal was reopened."),
    EventType(
        "enrollment.started",
        "Enrollment started",
        "An account was enrolled in a playbook (by a trigger or in bulk).",
    ),
    EventType(
        "enrollment.completed",
        "Enrollment completed",
        "Every step of an account's playbook enrollment is finished.",
    ),
    EventType("task.completed", "Task completed", "Someone completed a task."),
    EventType("survey.answered", "Survey answered", "A customer answered a survey."),
    EventType(
        "referral.converted",
        "Referral converted",
        "A referred deal was won.",
    ),
    EventType(
        "account.health_changed",
        "Account health changed",
        "An account's health score moved to another band.",
    ),
    EventType(
        "account.lifecycle_changed",
        "Account lifecycle changed",
        "An account moved between prospect, onboarding, active and churned.",
    ),
)

# Sent by "Send test event" only; no subscription chooses it.
TEST_EVENT = "webhook.test"

NAMES = frozenset(event.name for event in EVENT_TYPES)


def choices() -> list[tuple[str, str]]:
    return [(event.name, f"{event.label} ({event.name})") for event in EVENT_TYPES]
