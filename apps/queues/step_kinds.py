"""The ``task`` step kind: put a piece of human work in a queue."""

import datetime as dt
from typing import Any

from apps.core import step_kinds
from apps.core.templating import check_template, render_text
from apps.engine.context import step_template_context
from apps.queues.models import Queue, Task
from apps.queues.services import task_cancel, task_create

ASSIGN_TO = {
    "account_csm": "the account's CSM",
    "deal_owner": "the deal owner",
    "queue": "nobody (claimable in the queue)",
}


def validate_task_config(config: dict[str, Any]) -> step_kinds.ConfigErrors:
    errors: step_kinds.ConfigErrors = {}
    queue = config.get("queue")
    if not queue:
        errors["queue"] = ["Name the queue (its slug), for example “onboarding”."]
    elif not Queue.objects.filter(slug=queue).exists():
        errors["queue"] = [f"There is no queue with the slug “{queue}”."]
    if not config.get("title"):
        errors["title"] = ["Give the task a title."]
    for field in ("title", "body"):
        if config.get(field) and (problem := check_template(str(config[field]))):
            errors.setdefault(field, []).append(problem)
    assign_to = config.get("assign_to", "account_csm")
    if assign_to not in ASSIGN_TO:
        errors["assign_to"] = [f"Use one of: {', '.join(ASSIGN_TO)}."]
    priority = config.get("priority", Task.Priority.P3)
    if priority not in Task.Priority.values:
        errors["priority"] = ["Priority is 1 (urgent) to 4 (low)."]
    due_in_days = config.get("due_in_days", 0)
    if not isinstance(due_in_days, int) or due_in_days < 0:
        errors["due_in_days"] = ["Use a whole number of days, 0 or more."]
    return errors


def execute_task_step(execution: step_kinds.StepExecution) -> dict[str, Any]:
    config = execution.step.get("config") or {}
    context = step_template_context(execution)
    assign_to = config.get("assign_to", "account_csm")
    assignee = {
        "account_csm": execution.account.csm,
        "deal_owner": execution.deal.owner,
    }.get(assign_to)
    reason = f"Playbook step assigns {ASSIGN_TO[assign_to]}" + (
        "" if assignee or assign_to == "queue" else "; nobody set, left claimable"
    )
    task = task_create(
        queue=Queue.objects.get(slug=config["queue"]),
        title=render_text(config["title"], context),
        body=render_text(config.get("body", ""), context),
        kind=config.get("task_kind", "general"),
        account=execution.account,
        deal=execution.deal,
        step_run=execution.step_run,
        assignee=assignee,
        assignment_reason=reason,
        priority=config.get("priority", Task.Priority.P3),
        due_at=execution.now + dt.timedelta(days=config.get("due_in_days", 0)),
    )
    who = task.assignee.get_username() if task.assignee else "anyone in the queue"
    return {
        "task_id": task.pk,
        "assignee_id": task.assignee_id,
        "summary": f"Task “{task.title}” in {task.queue.name} for {who}",
    }


def withdraw_task(step_run: Any, reason: str) -> int:
    task = Task.objects.filter(step_run=step_run).first()
    return int(task is not None and task_cancel(task=task, reason=reason))


step_kinds.register(
    step_kinds.StepKind(
        name="task",
        label="Task in a queue",
        execute=execute_task_step,
        validate_config=validate_task_config,
        withdraw=withdraw_task,
    )
)
