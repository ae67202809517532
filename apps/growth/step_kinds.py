"""The growth step kinds. ``expansion_prompt`` tells the rep (or the CSM) what the
account could buy next and why, and optionally opens the expansion deal for it.
``referral_request`` asks a happy contact for a referral: an email with their personal
link, and a task for the rep to ask in person."""

import datetime as dt
from typing import Any

from django import forms
from django.db import transaction

from apps.core import step_kinds
from apps.customers.models import Contact
from apps.deals import services as deal_services
from apps.deals.models import Deal, DealLineItem, StageChange
from apps.growth.models import ExpansionDeal, ReferralRequest
from apps.growth.referrals import ask_email, ask_refusal
from apps.growth.suggestions import Suggestion, suggested_amount, suggestions_for
from apps.notifications.services import emails_queue_many
from apps.notifications.step_kinds import withdraw_step_emails
from apps.queues.models import Queue, Task
from apps.queues.services import StepTask, tasks_create_for_steps
from apps.queues.step_kinds import queue_choices, withdraw_task

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


class ExpansionConfigForm(step_kinds.StepConfigForm):
    queue = forms.ChoiceField(choices=queue_choices, help_text="Where the rep's task goes.")
    assign_to = forms.ChoiceField(choices=list(ASSIGN_TO.items()), initial="deal_owner")
    open_deal = forms.BooleanField(
        required=False,
        label="Open the expansion deal",
        help_text="Also open a deal in Qualified with the suggested line items.",
    )

    @classmethod
    def summary(cls, config) -> str:
        return {"deal_owner": "deal owner", "account_csm": "CSM"}.get(config.get("assign_to"), "")


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
        source=Deal.Source.PLAYBOOK,
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
        config_form=ExpansionConfigForm,
        # A cancelled enrollment's open prompt task is cancelled (an opened deal stays:
        # it is the rep's now).
        withdraw=withdraw_task,
    )
)


# referral_request ---------------------------------------------------------------------------

REFERRAL_RECIPIENTS = {
    "respondent": "the contact who answered the survey the playbook waited on (else the "
    "primary contact)",
    "primary_contact": "the deal's primary contact, else the account's",
}
ASK_NOT_WITHIN_DAYS = 180
LINK_DAYS = 60


def _positive(config: dict[str, Any], name: str, errors: step_kinds.ConfigErrors) -> None:
    value = config.get(name)
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
        errors[name] = ["A whole number of days, 1 or more."]


def validate_referral_config(config: dict[str, Any]) -> step_kinds.ConfigErrors:
    errors = validate_expansion_config({**config, "open_deal": False})
    if config.get("to", "respondent") not in REFERRAL_RECIPIENTS:
        errors["to"] = [f"Choose who is asked: {', '.join(REFERRAL_RECIPIENTS)}."]
    answer_step = config.get("answer_step")
    if answer_step is not None and not isinstance(answer_step, str):
        errors["answer_step"] = ["The key of the wait step that received the survey answer."]
    _positive(config, "not_within_days", errors)
    _positive(config, "link_days", errors)
    return errors


class ReferralConfigForm(ExpansionConfigForm):
    open_deal = None  # a referral request opens no deal
    to = forms.ChoiceField(
        choices=list(REFERRAL_RECIPIENTS.items()), initial="respondent", label="Ask"
    )
    answer_step = forms.CharField(
        required=False,
        label="Survey answer from step",
        help_text="The key of the wait step that received the answer (empty: the latest).",
    )
    not_within_days = forms.IntegerField(
        min_value=1,
        required=False,
        label="Not asked within (days)",
        help_text=f"Empty: {ASK_NOT_WITHIN_DAYS}.",
    )
    link_days = forms.IntegerField(
        min_value=1, required=False, label="Link valid for (days)", help_text=f"Empty: {LINK_DAYS}."
    )


def _respondent_id(execution: step_kinds.StepExecution) -> int | None:
    """The contact who answered the survey this enrollment waited on: the named wait
    step's, else the latest answer in the enrollment's context."""
    steps = (execution.enrollment.context or {}).get("steps") or {}
    named = execution.step.config.get("answer_step")
    facts = [steps.get(named) or {}] if named else list(steps.values())[::-1]
    for fact in facts:
        if isinstance(fact, dict) and fact.get("response_id") and fact.get("contact_id"):
            return fact["contact_id"]
    return None


def _referral_contact(execution: step_kinds.StepExecution) -> Contact | None:
    if execution.step.config.get("to", "respondent") == "respondent":
        contact_id = _respondent_id(execution)
        contact = Contact.objects.filter(pk=contact_id).first() if contact_id else None
        if contact is not None:
            return contact
    contact = execution.deal.primary_contact if execution.deal else None
    return contact or execution.account.contacts.filter(is_primary=True).first()


@transaction.atomic
def execute_referral_request(execution: step_kinds.StepExecution) -> dict[str, Any]:
    config, run = execution.step.config, execution.step_run
    asked = ReferralRequest.objects.filter(step_run=run).select_related("contact").first()
    if asked is None:
        contact = _referral_contact(execution)
        if contact is None:
            return {"skipped": "no contact to ask: the account has no primary contact"}
        within = config.get("not_within_days") or ASK_NOT_WITHIN_DAYS
        reason = ask_refusal(contact, now=execution.now, within_days=within)
        if reason:
            return {"skipped": f"{contact.name} was not asked: {reason}"}
        asked = ReferralRequest.objects.create(
            contact=contact,
            account=execution.account,
            step_run=run,
            playbook_id=execution.enrollment.playbook_id,
            version_number=getattr(execution.enrollment.version, "number", None),
            step_key=execution.step.key,
            created_at=execution.now,
            expires_at=execution.now + dt.timedelta(days=config.get("link_days") or LINK_DAYS),
        )
    contact = asked.contact
    [email] = emails_queue_many(emails=[ask_email(asked)])
    if isinstance(email, Exception):
        raise email
    [task] = tasks_create_for_steps(
        specs=[
            StepTask(
                step_run=run,
                queue=Queue.objects.get(slug=config["queue"]),
                title=f"Ask {contact.name} at {execution.account.name} for a referral"[:200],
                body=(
                    f"{contact.name} was emailed a personal referral link. Ask in person too: "
                    "who else would get the value they got? Referrals they send through the "
                    "link arrive as new deals owned by you."
                ),
                kind="referral",
                account=execution.account,
                deal=execution.deal,
                strategy=config.get("assign_to", "deal_owner"),
                priority=Task.Priority.P3,
                due_at=execution.now + dt.timedelta(days=5),
                sla_hours=None,
            )
        ]
    )
    return {
        "referral_request_id": asked.pk,
        "contact_id": contact.pk,
        "email_id": email.pk,
        "task_id": task.pk,
        "summary": f"Referral asked of {contact.name}",
    }


def withdraw_referral_request(step_run: Any, reason: str) -> int:
    """A cancelled enrollment's unsent referral email is withdrawn and the rep's task
    cancelled; a link already sent stays valid until it expires."""
    return withdraw_step_emails(step_run, reason) + withdraw_task(step_run, reason)


step_kinds.register(
    step_kinds.StepKind(
        name="referral_request",
        label="Referral request (email with a personal link, and a task for the rep)",
        execute=execute_referral_request,
        validate_config=validate_referral_config,
        config_form=ReferralConfigForm,
        withdraw=withdraw_referral_request,
    )
)
