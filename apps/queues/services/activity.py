"""The task's activity trail, and how people are named in it."""

from typing import Any

from apps.core import clock
from apps.queues.models import Task, TaskActivity


def person_name(user: Any) -> str:
    """How a person is named in messages: their full name, else their username."""
    if user is None:
        return "nobody"
    return user.get_full_name() or user.get_username()


def person_or_none(actor: Any) -> Any:
    """The actor if it is a saved user; the engine and anonymous callers record as None."""
    return actor if getattr(actor, "pk", None) else None


def activity_record(task: Task, kind: str, *, actor: Any = None, message: str = "") -> TaskActivity:
    """Add a line to the task's activity trail."""
    return TaskActivity.objects.create(
        task=task, actor=person_or_none(actor), kind=kind, message=message, created_at=clock.now()
    )


def status_label(status: str) -> str:
    return Task.Status(status).label.lower()
