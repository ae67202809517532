"""The ``email`` and ``reminder`` step kinds.

Executors run inside the engine's transaction, so they only write rows: the email goes to
the outbox and the delivery task sends it after commit.
"""

from functools import lru_cache
from typing import Any

from django import forms
from django.urls import NoReverseMatch, reverse

from apps.core import step_kinds
from apps.core.templating import check_template, render_text
from apps.customers.models import Contact
from apps.engine.context import step_template_context, templates_missing_deal
from apps.notifications.models import EmailMessage, Notification
from apps.notifications.services import (
    Notice,
    OutgoingEmail,
    email_withdraw,
    emails_queue_many,
    notify_many,
)

REMINDER_RECIPIENTS = {
    "deal_owner": "the deal owner (the account owner when there is no deal)",
    "account_csm": "the account's CSM",
}


def _template_errors(config: dict[str, Any], required: dict[str, str]) -> step_kinds.ConfigErrors:
    errors: step_kinds.ConfigErrors = {}
    for field, message in required.items():
        if not str(config.get(field) or "").strip():
            errors[field] = [message]
    for field in ("subject", "title", "body"):
        if config.get(field) and (problem := check_template(str(config[field]))):
            errors.setdefault(field, []).append(problem)
    return errors


def withdraw_step_emails(step_run: Any, reason: str) -> int:
    """Withdraw the unsent emails a step run queued (sent ones cannot be recalled)."""
    return sum(
        email_withdraw(email=email, reason=reason)
        for email in EmailMessage.objects.filter(step_run=step_run)
    )


# email ---------------------------------------------------------------------------------


def validate_email_config(config: dict[str, Any]) -> step_kinds.ConfigErrors:
    return _template_errors(
        config,
        {
            "subject": "Give the email a subject, e.g. “Welcome aboard, {{ account.name }}”.",
            "body": "Write the email's text.",
        },
    )


class EmailConfigForm(step_kinds.StepConfigForm):
    subject = step_kinds.TemplateField(
        help_text="e.g. “Welcome to {{ company.name }}, {{ account.name }}”."
    )
    body = step_kinds.TemplateField(rows=8, label="Text")

    @classmethod
    def summary(cls, config) -> str:
        return "customer"


def _customer_contact(execution: step_kinds.StepExecution) -> Contact | None:
    deal_contact = execution.deal.primary_contact if execution.deal else None
    return (
        deal_contact or Contact.objects.filter(account=execution.account, is_primary=True).first()
    )


def _email_for(execution: step_kinds.StepExecution) -> OutgoingEmail | dict[str, Any]:
    """The email a step sends, or why it sends none."""
    config = execution.step.config
    if problem := templates_missing_deal(
        execution, templates={"subject": config.get("subject"), "body": config.get("body")}
    ):
        return {"skipped": problem}
    contact = _customer_contact(execution)
    if contact is None:
        return {"skipped": "no primary contact"}
    if contact.unsubscribed:
        return {"skipped": "contact unsubscribed"}
    if not contact.email:
        return {"skipped": "contact has no email address"}
    context = step_template_context(execution)
    # The account's primary contact stands in when the deal names none.
    context["contact"] = {"name": contact.name, "email": contact.email, "title": contact.title}
    return OutgoingEmail(
        to_email=contact.email,
        to_name=contact.name,
        subject=render_text(config["subject"], context),
        body_text=render_text(config["body"], context),
        idempotency_key=f"step:{execution.step_run.pk}",
        step_run=execution.step_run,
        contact=contact,
    )


def execute_email_steps(
    executions: list[step_kinds.StepExecution],
) -> list[dict[str, Any] | Exception]:
    """The emails of many steps, queued with one INSERT (see ``emails_queue_many``)."""
    planned = [_email_for(execution) for execution in executions]
    outgoing = [item for item in planned if isinstance(item, OutgoingEmail)]
    queued = iter(emails_queue_many(emails=outgoing))
    results: list[dict[str, Any] | Exception] = []
    for item in planned:
        if not isinstance(item, OutgoingEmail):
            results.append(item)
            continue
        email = next(queued)
        if isinstance(email, Exception):
            results.append(email)
        else:
            results.append(
                {"email_id": email.pk, "summary": f"Email “{email.subject}” to {email.to_email}"}
            )
    return results


step_kinds.register(
    step_kinds.StepKind(
        name="email",
        label="Email to the customer",
        execute=step_kinds.one_at_a_time(execute_email_steps),
        execute_many=execute_email_steps,
        validate_config=validate_email_config,
        withdraw=withdraw_step_emails,
        config_form=EmailConfigForm,
    )
)


# reminder ------------------------------------------------------------------------------


def validate_reminder_config(config: dict[str, Any]) -> step_kinds.ConfigErrors:
    errors = _template_errors(config, {"title": "Give the reminder a title."})
    to = config.get("to")
    if to not in REMINDER_RECIPIENTS:
        errors["to"] = [f"Choose who gets the reminder: {', '.join(REMINDER_RECIPIENTS)}."]
    return errors


class ReminderConfigForm(step_kinds.StepConfigForm):
    to = forms.ChoiceField(choices=list(REMINDER_RECIPIENTS.items()), initial="deal_owner")
    title = step_kinds.TemplateField()
    body = step_kinds.TemplateField(rows=4, required=False, label="Text")

    @classmethod
    def summary(cls, config) -> str:
        return {"deal_owner": "deal owner", "account_csm": "CSM"}.get(config.get("to"), "")


@lru_cache(maxsize=1)
def _deal_url_pattern() -> str:
    # ``reverse`` walks the URL resolver on every call; a batch needs one per deal.
    try:
        return reverse("deals:deal_detail", args=[0]).replace("/0/", "/{pk}/")
    except NoReverseMatch:
        return ""


def _deal_url(deal: Any) -> str:
    if deal is None or not (pattern := _deal_url_pattern()):
        return ""
    return pattern.format(pk=deal.pk)


def _reminder_for(execution: step_kinds.StepExecution) -> Notice | dict[str, Any]:
    """The notice a reminder step gives, or why it gives none."""
    config = execution.step.config
    if problem := templates_missing_deal(
        execution, templates={"title": config.get("title"), "body": config.get("body")}
    ):
        return {"skipped": problem}
    deal, account = execution.deal, execution.account
    user = {
        "deal_owner": deal.owner if deal else account.owner,
        "account_csm": account.csm,
    }[config["to"]]
    if user is None or not user.is_active:
        return {"skipped": "no recipient"}
    context = step_template_context(execution)
    return Notice(
        recipient=user,
        reason=Notification.Reason.PLAYBOOK_REMINDER,
        title=render_text(config["title"], context),
        body=render_text(config.get("body", ""), context),
        url=_deal_url(deal),
        dedupe_key=f"step:{execution.step_run.pk}",
        context={"account": account, "deal": deal},
        account=account,
        deal=deal,
        step_run=execution.step_run,
    )


def execute_reminder_steps(
    executions: list[step_kinds.StepExecution],
) -> list[dict[str, Any] | Exception]:
    """The reminders of many steps, written with ``notify_many``."""
    planned = [_reminder_for(execution) for execution in executions]
    notified = iter(notify_many(notices=[item for item in planned if isinstance(item, Notice)]))
    results: list[dict[str, Any] | Exception] = []
    for item in planned:
        if not isinstance(item, Notice):
            results.append(item)
            continue
        outcome = next(notified)
        result: dict[str, Any] = {"recipient_id": item.recipient.pk}
        if outcome.notification is not None:
            result["notification_id"] = outcome.notification.pk
        if outcome.email is not None:
            result["email_id"] = outcome.email.pk
        result["summary"] = (
            f"Reminder to {item.recipient.get_full_name() or item.recipient.get_username()}: "
            f"{item.title}"
        )
        results.append(result)
    return results


step_kinds.register(
    step_kinds.StepKind(
        name="reminder",
        label="Reminder to the deal owner or CSM",
        execute=step_kinds.one_at_a_time(execute_reminder_steps),
        execute_many=execute_reminder_steps,
        validate_config=validate_reminder_config,
        withdraw=withdraw_step_emails,
        config_form=ReminderConfigForm,
    )
)
