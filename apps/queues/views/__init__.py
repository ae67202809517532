"""The CS web UI of the queues app: the task lists (``lists``) and the task page (``task``).

The page shell they share with other apps' pages (log-in, time zone, top bar) lives in
``apps.core.pages``.
"""

from apps.queues.views.lists import my_work, task_list, tasks_bulk
from apps.queues.views.task import (
    task_assign,
    task_claim,
    task_comment,
    task_complete,
    task_detail,
    task_snooze,
    task_start,
)

__all__ = [
    "my_work",
    "task_assign",
    "task_claim",
    "task_comment",
    "task_complete",
    "task_detail",
    "task_list",
    "task_snooze",
    "task_start",
    "tasks_bulk",
]
