"""The ``expansion_prompt`` step kind: tell the rep (or the CSM) what the account could
buy next and why, and optionally open the expansion deal for it."""

import datetime as dt
from typing import Any

from django.db import transaction

from apps.core import step_kinds
from apps.deals import services as deal_services
from apps.deals.models import Deal, DealLineItem, StageChange
from apps.growth.models import ExpansionDeal
from apps.growth.suggestions import Suggestion, suggested_amount, suggestions_for
from apps.queues.models import Queue, Task
from apps.queues.services import StepTask, tasks_create_for_steps

ASSIGN_TO = {"deal_owner": "the deal owner (the rep)", "account_csm": "the account's CSM"}
CLOSE_IN_DAYS = 30


def validate_expansion_config(config: dict[str, Any]) -> step_kinds.ConfigErrors:
    errors: step_kinds.ConfigErrors = {}
    queue = config.get("queue")
    if not queue:
        errors["queue"] = ["Name the queue for the rep's task (its slug)."]
    elif not Queue.objects.filter(slug=queue).exists():
        errors["queue"] = [f"There is no queue with the slug “{queue}”."]
    if config.get("assign_to", "deal_owner") not in ASSIGN_TO:
        errors["assign_to"] = [f"Choose who gets the task: {', '.join(ASSIGN_TO)}."]
    if not isinstance(config.get("open_deal", False), bool):
        errors["open_deal"] = ["true to open the expansion deal, false for the task only."]
    return errors


def _lines(suggestions: list[Suggestion]) -> str:
    return "\n".join(
        f"- {s.family}: {s.quantity} × {s.product.name} ({s.product.sku}). {s.reason}"
        for s in suggestions
    )


def _open_deal(execution, suggestions: list[Suggestion]) -> Deal:
    account, source = execution.account, execution.deal
    families = ", ".join(s.family for s in suggestions)
    deal = deal_services.deal_create(
        actor=None,
        account=account,
        name=f"{account.name} — expansion: {families}"[:200],
        kind=Deal.Kind.EXPANSION,
        owner=(source.owner if source else None) or account.owner,
        amount=suggested_amount(suggestions),
        currency=suggestions[0].product.currency,
        close_date=(execution.now + dt.timedelta(days=CLOSE_IN_DAYS)).date(),
    )
    DealLineItem.objects.bulk_create(
        [
            DealLineItem(
                deal=deal, product=s.product, quantity=s.quantity, unit_price=s.product.list_price
            )
            for s in suggestions
        ]
    )
    deal_services.deal_move(
        deal=deal,
        name="qualify",
        actor=None,
        source=StageChange.Source.SYSTEM,
        reason=f"Opened by the playbook step “{execution.step.name}”.",
    )
    ExpansionDeal.objects.create(
        deal=deal,
        originating_deal=source,
        step_run=execution.step_run,
        playbook_id=execution.enrollment.playbook_id,
        version_number=getattr(execution.enrollment.version, "number", None),
        step_key=execution.step.key,
        families=[s.family for s in suggestions],
    )
    return deal


@transaction.atomic
def execute_expansion_prompt(execution: step_kinds.StepExecution) -> dict[str, Any]:
    config, run = execution.step.config, execution.step_run
    done = Task.objects.filter(step_run=run).first()
    if done is not None:  # delivered again: what the first delivery made stands
        opened = ExpansionDeal.objects.filter(step_run=run).values_list("deal_id", flat=True)
        return {"task_id": done.pk, "deal_id": opened.first(), "summary": done.title}
    suggestions = suggestions_for(execution.account, now=execution.now)
    if not suggestions:
        return {
            "skipped": "nothing to suggest: no cross-sell rule fits and no product's usage "
            "is over its threshold (families with an open deal are left out)"
        }
    deal = _open_deal(execution, suggestions) if config.get("open_deal") else None
    families = ", ".join(s.family for s in suggestions)
    body = f"What {execution.account.name} could buy next:\n{_lines(suggestions)}"
    if deal is not None:
        body += f"\n\nThe expansion deal “{deal.name}” is open in Qualified."
    [task] = tasks_create_for_steps(
        specs=[
            StepTask(
                step_run=run,
                queue=Queue.objects.get(slug=config["queue"]),
                title=f"Expansion for {execution.account.name}: {families}"[:200],
                body=body,
                kind="expansion",
                account=execution.account,
                deal=deal or execution.deal,
                strategy=config.get("assign_to", "deal_owner"),
                priority=Task.Priority.P3,
                due_at=execution.now + dt.timedelta(days=3),
                sla_hours=None,
            )
        ]
    )
    return {
        "task_id": task.pk,
        "deal_id": deal.pk if deal else None,
        "suggestions": [
            {"family": s.family, "sku": s.product.sku, "quantity": s.quantity, "reason": s.reason}
            for s in suggestions
        ],
        "summary": f"Expansion prompt: {families}" + (f" (deal {deal.pk} opened)" if deal else ""),
    }


step_kinds.register(
    step_kinds.StepKind(
        name="expansion_prompt",
        label="Expansion prompt (upsell / cross-sell)",
        execute=execute_expansion_prompt,
        validate_config=validate_expansion_config,
    )
)
