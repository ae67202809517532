"""What every task write checks first: the task is open, the actor may work it, and the
row is saved only if nobody changed its status in between."""

from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django_fsm import ConcurrentTransition

from apps.core.errors import Conflict, NotPermitted
from apps.queues import selectors
from apps.queues.models import Task
from apps.queues.services.activity import person_name, status_label


def conflict_after_race(task: Task) -> Conflict:
    """Someone else changed the task between our read and our write: say what they did."""
    fresh = Task.objects.select_related("assignee", "completed_by").filter(pk=task.pk).first()
    if fresh is None:
        return Conflict("This task no longer exists.")
    if fresh.status == Task.Status.DONE:
        who = f" by {person_name(fresh.completed_by)}" if fresh.completed_by else ""
        return Conflict(f"This task was completed{who} a moment ago; nothing was changed.")
    if not fresh.is_open:
        return Conflict(f"This task was {status_label(fresh.status)} a moment ago.")
    return Conflict(
        "Someone else changed this task a moment ago; reload it to see its state and try again."
    )


def task_save_fields(task: Task, fields: Iterable[str]) -> None:
    """Save only ``fields``, and only if the status is still the one loaded; otherwise
    raise a Conflict that says what the other person did."""
    try:
        # A savepoint, so that after a lost race the transaction can still read what won.
        with transaction.atomic():
            task.save(update_fields=[*fields, "updated_at"])
    except ConcurrentTransition:
        raise conflict_after_race(task) from None


def require_open(task: Task) -> None:
    if not task.is_open:
        raise Conflict(f"This task is already {status_label(task.status)}.")


def require_can_work(task: Task, actor: Any) -> None:
    """The service-level guard: nobody acts on someone else's task unless they oversee
    its queue. Callers find the task through ``selectors.tasks_visible_to`` (the API and
    the UI answer 404 otherwise) and check ``selectors.user_can_work`` for the full rule."""
    if not getattr(actor, "is_authenticated", False) or not actor.has_perm("queues.change_task"):
        raise NotPermitted("You may not work on tasks.")
    if task.assignee_id in (None, actor.pk):
        return
    if not selectors.user_oversees_queue(actor, task.queue, fresh=True):
        raise NotPermitted(
            f"This task is assigned to {person_name(task.assignee)}; ask them or the queue's "
            "manager to reassign it."
        )
