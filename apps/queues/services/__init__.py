"""Task writes. Playbook steps, the UI, the API and admin create and change tasks here.

By concern: ``tasks`` (create, edit, status changes, comments), ``assignment`` (who gets a
task, claims and reassignments), ``sla`` (business-hours deadlines and breaches) and
``bulk`` (one action on many tasks). Callers import from here.

Concurrency: two people acting on the same task at once must end with one winner and a
clear message for the other. Status changes go through the django-fsm transitions, whose
``ConcurrentTransitionMixin`` saves only if the status is still the one the caller
loaded; assignment changes are conditional UPDATEs (``… WHERE assignee IS NULL``) whose
row count says who won. Every service saves only the fields it changes, so a snooze
never overwrites an assignment made a moment earlier.
"""

from apps.queues.services.assignment import REASON_LENGTH, assignee_pick, task_assign, task_claim
from apps.queues.services.bulk import BULK_ACTIONS, BulkItem, BulkResult, tasks_bulk
from apps.queues.services.sla import (
    SLA_CHECK_BATCH,
    business_hours_after,
    business_hours_between,
    queue_calendar,
    sla_due_at_after_snooze,
    sla_due_at_for,
    snooze_warnings,
    tasks_check_slas,
)
from apps.queues.services.tasks import (
    SNOOZE_LIMIT,
    TASK_DETAILS,
    StepTask,
    outcome_problem,
    task_cancel,
    task_comment,
    task_complete,
    task_create,
    task_skip,
    task_snooze,
    task_start,
    task_update,
    tasks_create_for_steps,
)

__all__ = [
    "BULK_ACTIONS",
    "REASON_LENGTH",
    "SLA_CHECK_BATCH",
    "SNOOZE_LIMIT",
    "TASK_DETAILS",
    "BulkItem",
    "BulkResult",
    "StepTask",
    "assignee_pick",
    "business_hours_after",
    "business_hours_between",
    "outcome_problem",
    "queue_calendar",
    "sla_due_at_after_snooze",
    "sla_due_at_for",
    "snooze_warnings",
    "task_assign",
    "task_cancel",
    "task_claim",
    "task_comment",
    "task_complete",
    "task_create",
    "task_skip",
    "task_snooze",
    "task_start",
    "task_update",
    "tasks_bulk",
    "tasks_check_slas",
    "tasks_create_for_steps",
]
