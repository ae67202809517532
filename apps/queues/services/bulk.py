"""One action on many tasks, each in its own transaction."""

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.utils import timezone

from apps.core.dates import datetime_text
from apps.core.errors import Conflict, DomainError, ValidationFailed
from apps.queues.models import Task
from apps.queues.services.activity import person_name, status_label
from apps.queues.services.assignment import task_assign, task_claim
from apps.queues.services.sla import snooze_warnings
from apps.queues.services.tasks import task_cancel, task_complete, task_snooze


@dataclass
class BulkItem:
    task_id: int
    ok: bool
    message: str
    warned: bool = False  # done, with a cost the person is told about (a late snooze)


PAST_TENSE = {
    "claim": "Claimed",
    "assign": "Assigned",
    "snooze": "Snoozed",
    "complete": "Completed",
    "cancel": "Cancelled",
}


@dataclass
class BulkResult:
    action: str
    # What the action did beyond its verb: " to Carla Jensen", " until Tue 1 Dec 2026, 14:05".
    detail: str = ""
    items: list[BulkItem] = field(default_factory=list)

    @property
    def succeeded(self) -> int:
        return sum(item.ok for item in self.items)

    @property
    def failed(self) -> int:
        return len(self.items) - self.succeeded

    @property
    def summary(self) -> str:
        """What happened, e.g. "Assigned 3 tasks to Carla Jensen" or "Snoozed 1 of 2 tasks
        until Tue 1 Dec 2026, 14:05; 1 refused"."""
        total = len(self.items)
        count = f"{self.succeeded} of {total}" if self.failed else f"{total}"
        tasks = "task" if total == 1 else "tasks"
        if not self.succeeded:
            return f"No task {PAST_TENSE[self.action].lower()}; {self.failed} refused"
        text = f"{PAST_TENSE[self.action]} {count} {tasks}{self.detail}"
        warned = sum(item.warned for item in self.items)
        if warned:
            text += f"; {warned} will be overdue or breach the SLA (see each task)"
        return f"{text}; {self.failed} refused" if self.failed else text


BULK_ACTIONS = ("claim", "assign", "snooze", "complete", "cancel")


def tasks_bulk(*, tasks: Iterable[Task], actor: Any, action: str, **params: Any) -> BulkResult:
    """Apply one action to many tasks, each in its own transaction: a task that is
    refused (someone else's, already done) gets its message and the others go on.

    ``params``: assign takes ``assignee`` and ``reason``; snooze ``until``; complete
    ``outcome`` and ``notes``; cancel ``reason``."""
    if action not in BULK_ACTIONS:
        raise ValidationFailed(
            "Unknown action.", {"action": [f"Use one of: {', '.join(BULK_ACTIONS)}."]}
        )
    result = BulkResult(action=action, detail=_detail(action, params))
    for task in tasks:
        try:
            message, warnings = _bulk_one(task, actor=actor, action=action, params=params)
        except DomainError as exc:
            result.items.append(BulkItem(task_id=task.pk, ok=False, message=_message(exc)))
        else:
            text = " ".join([message, *warnings])
            item = BulkItem(task_id=task.pk, ok=True, message=text, warned=bool(warnings))
            result.items.append(item)
    return result


def _detail(action: str, params: dict[str, Any]) -> str:
    if action == "assign":
        return f" to {person_name(params.get('assignee'))}"
    if action == "snooze" and params.get("until"):
        return f" until {datetime_text(timezone.localtime(params['until']))}"
    return ""


def _message(exc: DomainError) -> str:
    messages = [m for msgs in exc.errors.values() for m in msgs]
    return " ".join(messages) or exc.message


def _bulk_one(
    task: Task, *, actor: Any, action: str, params: dict[str, Any]
) -> tuple[str, list[str]]:
    """What was done to ``task``, and what it costs (a snooze past the due date or SLA)."""
    if action == "snooze":
        until = params.get("until")
        # Read before the snooze: a queue that pauses its SLA moves the deadline.
        warnings = snooze_warnings(task=task, until=until) if until else []
        task_snooze(task=task, actor=actor, until=until)
        return "Snoozed.", warnings
    return _bulk_one_plain(task, actor=actor, action=action, params=params), []


def _bulk_one_plain(task: Task, *, actor: Any, action: str, params: dict[str, Any]) -> str:
    if action == "claim":
        task_claim(task=task, actor=actor)
        return "Claimed."
    if action == "assign":
        task_assign(
            task=task, actor=actor, assignee=params.get("assignee"), reason=params.get("reason", "")
        )
        return task.assignment_reason
    if action == "complete":
        task_complete(
            task=task, actor=actor, outcome=params.get("outcome", ""), notes=params.get("notes", "")
        )
        return "Completed."
    reason = (params.get("reason") or "").strip()
    if not reason:
        raise ValidationFailed("Say why.", {"reason": ["Say why the tasks are cancelled."]})
    if not task_cancel(task=task, reason=reason, actor=actor):
        raise Conflict(f"This task is already {status_label(task.status)}.")
    return "Cancelled."
