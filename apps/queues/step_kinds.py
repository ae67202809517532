"""The ``task`` step kind: put a piece of human work in a queue."""

import datetime as dt
from typing import Any

from django import forms
from django.contrib.auth import get_user_model

from apps.core import step_kinds
from apps.core.templating import check_template, render_text
from apps.engine.context import step_template_context, templates_missing_deal
from apps.queues.models import Queue, Task
from apps.queues.services import StepTask, task_cancel, tasks_create_for_steps

ASSIGN_TO = {
    "account_csm": "the account's CSM",
    "deal_owner": "the deal owner",
    "queue_manager": "the queue's manager (for escalations)",
    "round_robin": "the queue's members in turn",
    "least_open": "the queue member with the least open work",
    "queue": "whoever the queue's own assignment rule picks",
    "unassigned": "nobody (claimable in the queue)",
    "user:<username>": "one named person",
}
# Playbooks written before queues had their own rule used "queue" to mean nobody; a
# queue's rule defaults to "unassigned", so those playbooks keep doing the same.
SLA_HOURS_MAX = 2000


def _assign_to_problem(assign_to: object) -> str | None:
    if not isinstance(assign_to, str):
        return f"Use one of: {', '.join(ASSIGN_TO)}."
    if assign_to.startswith("user:"):
        username = assign_to.removeprefix("user:")
        if not get_user_model().objects.filter(username=username, is_active=True).exists():
            return f"There is no active user “{username}”."
        return None
    if assign_to not in ASSIGN_TO:
        return f"Use one of: {', '.join(ASSIGN_TO)}."
    return None


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
    if problem := _assign_to_problem(config.get("assign_to", "account_csm")):
        errors["assign_to"] = [problem]
    priority = config.get("priority", Task.Priority.P3)
    if priority not in Task.Priority.values:
        errors["priority"] = ["Priority is 1 (urgent) to 4 (low)."]
    due_in_days = config.get("due_in_days", 0)
    if not isinstance(due_in_days, int) or due_in_days < 0:
        errors["due_in_days"] = ["Use a whole number of days, 0 or more."]
    sla_hours = config.get("sla_hours")
    if sla_hours is not None and (
        isinstance(sla_hours, bool)
        or not isinstance(sla_hours, int | float)
        or not 0 < sla_hours <= SLA_HOURS_MAX
    ):
        errors["sla_hours"] = [
            f"Use a number of business hours above 0 and at most {SLA_HOURS_MAX}, or leave "
            "it out to use the queue's SLA."
        ]
    return errors


def queue_choices() -> list[tuple[str, str]]:
    """The queues a step can put work in, by slug (the value a config stores)."""
    return [("", "---------"), *Queue.objects.order_by("name").values_list("slug", "name")]


def _assign_to_choices() -> list[tuple[str, str]]:
    people = get_user_model().objects.filter(is_active=True, is_staff=True).order_by("username")
    return [
        *((name, label) for name, label in ASSIGN_TO.items() if name != "user:<username>"),
        *(
            (f"user:{person.get_username()}", f"one person: {person.get_full_name() or person}")
            for person in people
        ),
    ]


# How the playbook's timeline names who gets the task.
ASSIGNEE_SHORT = {
    "account_csm": "CSM",
    "deal_owner": "deal owner",
    "queue_manager": "queue manager",
    "round_robin": "round robin",
    "least_open": "least open work",
    "queue": "queue's rule",
    "unassigned": "unassigned",
}


class TaskConfigForm(step_kinds.StepConfigForm):
    queue = forms.ChoiceField(choices=queue_choices)
    assign_to = forms.ChoiceField(
        choices=_assign_to_choices, initial="account_csm", label="Assign to"
    )
    title = step_kinds.TemplateField(
        help_text="The task's title, e.g. “Kickoff call with {{ account.name }}”."
    )
    body = step_kinds.TemplateField(rows=4, required=False, label="Description")
    priority = forms.TypedChoiceField(
        coerce=int, choices=Task.Priority.choices, initial=Task.Priority.P3
    )
    due_in_days = forms.IntegerField(
        min_value=0,
        required=False,
        label="Due after (days)",
        help_text="0: due the day it is created.",
    )
    sla_hours = forms.FloatField(
        required=False,
        min_value=0,
        max_value=SLA_HOURS_MAX,
        label="SLA (business hours)",
        help_text="Empty: the queue's SLA.",
    )
    task_kind = forms.CharField(
        required=False,
        max_length=50,
        label="Task kind",
        help_text="A label for the work (check_in, call, escalation…); empty: general.",
    )

    @classmethod
    def summary(cls, config) -> str:
        assign_to = str(config.get("assign_to", "account_csm"))
        return ASSIGNEE_SHORT.get(assign_to, assign_to.removeprefix("user:"))


def _step_task(execution: step_kinds.StepExecution, queues: dict[str, Queue]) -> StepTask:
    config = execution.step.config
    context = step_template_context(execution)
    assign_to = config.get("assign_to", "account_csm")
    if config["queue"] not in queues:
        queues[config["queue"]] = Queue.objects.select_related("manager").get(slug=config["queue"])
    queue = queues[config["queue"]]
    # None lets task creation apply the queue's own rule.
    strategy = {"queue": None, "unassigned": Queue.Strategy.UNASSIGNED}.get(assign_to, assign_to)
    if assign_to == "queue_manager":
        # A queue without a manager falls back to its own rule.
        strategy = f"user:{queue.manager.get_username()}" if queue.manager else None
    return StepTask(
        step_run=execution.step_run,
        queue=queue,
        title=render_text(config["title"], context),
        body=render_text(config.get("body", ""), context),
        kind=config.get("task_kind", "general"),
        account=execution.account,
        deal=execution.deal,
        strategy=strategy,
        priority=config.get("priority", Task.Priority.P3),
        due_at=execution.now + dt.timedelta(days=config.get("due_in_days", 0)),
        sla_hours=config.get("sla_hours"),
    )


def _result(task: Task) -> dict[str, Any]:
    person = task.assignee
    who = (person.get_full_name() or person.get_username()) if person else "anyone in the queue"
    return {
        "task_id": task.pk,
        "assignee_id": task.assignee_id,
        "summary": f"Task “{task.title}” in {task.queue.name} for {who}",
    }


def _missing_deal(execution: step_kinds.StepExecution) -> str | None:
    config = execution.step.config
    return templates_missing_deal(
        execution, templates={"title": config.get("title"), "body": config.get("body")}
    )


def execute_task_steps(
    executions: list[step_kinds.StepExecution],
) -> list[dict[str, Any] | Exception]:
    """The tasks of many steps, created together (see ``tasks_create_for_steps``)."""
    results: list[dict[str, Any] | Exception | None] = []
    specs, queues = [], {}
    for execution in executions:
        if problem := _missing_deal(execution):
            results.append({"skipped": problem})
            continue
        try:
            specs.append(_step_task(execution, queues))
        except Exception as exc:  # a template or a queue that is gone: this step alone
            results.append(exc)
            continue
        results.append(None)
    tasks = iter(tasks_create_for_steps(specs=specs))
    return [_result(next(tasks)) if result is None else result for result in results]


def withdraw_task(step_run: Any, reason: str) -> int:
    task = Task.objects.filter(step_run=step_run).first()
    return int(task is not None and task_cancel(task=task, reason=reason))


step_kinds.register(
    step_kinds.StepKind(
        name="task",
        label="Task in a queue",
        execute=step_kinds.one_at_a_time(execute_task_steps),
        execute_many=execute_task_steps,
        validate_config=validate_task_config,
        withdraw=withdraw_task,
        config_form=TaskConfigForm,
    )
)
