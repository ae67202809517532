"""Task writes. Playbook steps, the UI and the API create and change tasks through here."""

import datetime as dt
from typing import Any

from django.db import transaction
from django_fsm import ConcurrentTransition, can_proceed

from apps.core import clock
from apps.core.errors import Conflict
from apps.core.events import event_emit
from apps.queues.models import Queue, Task


@transaction.atomic
def task_create(
    *,
    queue: Queue,
    title: str,
    body: str = "",
    kind: str = "general",
    account: Any = None,
    deal: Any = None,
    step_run: Any = None,
    assignee: Any = None,
    assignment_reason: str = "",
    priority: int = Task.Priority.P3,
    due_at: dt.datetime | None = None,
) -> Task:
    """Create a task. For a playbook step, a second call for the same step run returns
    the existing task (the one-to-one key makes a duplicate delivery harmless)."""
    if step_run is not None:
        existing = Task.objects.filter(step_run=step_run).first()
        if existing is not None:
            return existing
    task = Task.objects.create(
        queue=queue,
        title=title[:300],
        body=body,
        kind=kind,
        account=account,
        deal=deal,
        step_run=step_run,
        assignee=assignee,
        assignment_reason=assignment_reason,
        priority=priority,
        due_at=due_at,
    )
    event_emit(
        name="task.created",
        aggregate=task,
        payload={"task_id": task.pk, "queue": queue.slug, "assignee_id": task.assignee_id},
    )
    return task


@transaction.atomic
def task_cancel(*, task: Task, reason: str, actor: Any = None) -> bool:
    """Cancel an open task; returns False if it was already finished."""
    if not can_proceed(task.cancel):
        return False
    task.cancel()
    task.cancelled_reason = reason
    try:
        task.save()
    except ConcurrentTransition:
        raise Conflict("This task was changed by someone else; reload it and try again.") from None
    event_emit(
        name="task.cancelled",
        aggregate=task,
        actor=actor,
        payload={"task_id": task.pk, "reason": reason, "completed_at": clock.now().isoformat()},
    )
    return True


@transaction.atomic
def task_complete(*, task: Task, actor: Any, outcome: str = "", notes: str = "") -> Task:
    """Mark a task done; playbook steps waiting for it resume on the event."""
    if not can_proceed(task.complete):
        raise Conflict(f"This task is already {task.get_status_display().lower()}.")
    task.complete()
    task.completed_by = actor if getattr(actor, "pk", None) else None
    task.outcome = outcome
    task.outcome_notes = notes
    try:
        task.save()
    except ConcurrentTransition:
        raise Conflict(
            "Someone else changed this task a moment ago; reload it to see its state."
        ) from None
    event_emit(name="task.completed", aggregate=task, actor=actor, payload=_task_payload(task))
    return task


def _task_payload(task: Task) -> dict[str, Any]:
    payload: dict[str, Any] = {"task_id": task.pk, "outcome": task.outcome}
    if task.step_run_id:
        run = task.step_run
        payload.update(enrollment_id=run.enrollment_id, step_key=run.step_key)
    return payload
