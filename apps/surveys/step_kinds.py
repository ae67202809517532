"""The ``survey`` step kind: invite the account's primary contact (or every contact with
a given title) to answer a survey, unless the contact policy holds them back."""

import datetime as dt
from collections.abc import Mapping
from typing import Any

from django import forms
from django.db.models import Q

from apps.core import step_kinds
from apps.core.models import DomainEvent
from apps.customers.models import Contact
from apps.notifications.services import emails_queue_many
from apps.notifications.step_kinds import withdraw_step_emails
from apps.surveys.models import Invitation, Survey
from apps.surveys.policy import Governor
from apps.surveys.rollups import invitations_counted
from apps.surveys.services import invitation_email, response_record

RECIPIENTS = {
    "primary_contact": "the deal's primary contact, else the account's",
    "contacts_titled": "every contact whose title contains “title_contains”",
}


def validate_survey_config(config: dict[str, Any]) -> step_kinds.ConfigErrors:
    errors: step_kinds.ConfigErrors = {}
    slug = config.get("survey")
    if not slug:
        errors["survey"] = ["Name the survey (its slug), for example “onboarding-nps”."]
    elif not Survey.objects.filter(slug=slug).exists():
        known = ", ".join(Survey.objects.values_list("slug", flat=True)) or "none yet"
        errors["survey"] = [f"There is no survey “{slug}” (known: {known})."]
    to = config.get("to", "primary_contact")
    if to not in RECIPIENTS:
        errors["to"] = [f"Choose who is asked: {', '.join(RECIPIENTS)}."]
    elif to == "contacts_titled" and not str(config.get("title_contains") or "").strip():
        errors["title_contains"] = ["Say which titles to ask, for example “VP”."]
    return errors


def _survey_choices() -> list[tuple[str, str]]:
    return [("", "---------"), *Survey.objects.order_by("name").values_list("slug", "name")]


class SurveyConfigForm(step_kinds.StepConfigForm):
    survey = forms.ChoiceField(choices=_survey_choices)
    to = forms.ChoiceField(choices=list(RECIPIENTS.items()), initial="primary_contact", label="Ask")
    title_contains = forms.CharField(
        required=False,
        label="Titles containing",
        help_text="With “every contact whose title…”: e.g. VP.",
    )

    @classmethod
    def summary(cls, config) -> str:
        return str(config.get("survey") or "")


def _recipients(executions: list[step_kinds.StepExecution]) -> dict[int, list[Contact]]:
    """Each step run's contacts, read with one query per recipient rule."""
    chosen: dict[int, list[Contact]] = {}
    account_ids = {execution.account.pk for execution in executions}
    primaries: dict[int, Contact] = {}
    titled: dict[int, list[Contact]] = {}
    needs_titles = [e for e in executions if e.step.config.get("to") == "contacts_titled"]
    if len(needs_titles) < len(executions):
        primaries = {
            contact.account_id: contact
            for contact in Contact.objects.filter(account_id__in=account_ids, is_primary=True)
        }
    if needs_titles:
        words = {str(e.step.config.get("title_contains")).strip() for e in needs_titles}
        query = Q()
        for word in words:
            query |= Q(title__icontains=word)
        for contact in Contact.objects.filter(query, account_id__in=account_ids).order_by("pk"):
            titled.setdefault(contact.account_id, []).append(contact)
    for execution in executions:
        config, account = execution.step.config, execution.account
        if config.get("to") == "contacts_titled":
            word = str(config.get("title_contains")).strip().lower()
            chosen[execution.step_run.pk] = [
                c for c in titled.get(account.pk, []) if word in c.title.lower()
            ]
        else:
            contact = execution.deal.primary_contact if execution.deal else None
            contact = contact or primaries.get(account.pk)
            chosen[execution.step_run.pk] = [contact] if contact else []
    return chosen


def execute_survey_steps(
    executions: list[step_kinds.StepExecution],
) -> list[dict[str, Any] | Exception]:
    """Invitations for many steps: a few queries for all of them, and each contact asked
    at most once per step run however often the step is delivered."""
    surveys = Survey.objects.in_bulk(
        {str(e.step.config.get("survey")) for e in executions}, field_name="slug"
    )
    recipients = _recipients(executions)
    existing: dict[tuple[int, int], Invitation] = {
        (inv.step_run_id, inv.contact_id): inv
        for inv in Invitation.objects.filter(step_run_id__in=list(recipients))
    }
    governor = Governor(
        contacts=[c for contacts in recipients.values() for c in contacts], now=executions[0].now
    )
    fresh: list[Invitation] = []
    per_run: dict[int, list[Invitation]] = {}
    for execution in executions:
        run, survey = execution.step_run, surveys.get(str(execution.step.config.get("survey")))
        if survey is None:
            continue
        for contact in recipients[run.pk]:
            invitation = existing.get((run.pk, contact.pk))
            if invitation is None:
                reason = governor.refusal(contact)
                invitation = Invitation(
                    survey=survey,
                    contact=contact,
                    account=execution.account,
                    step_run=run,
                    playbook_id=execution.enrollment.playbook_id,
                    enrollment_id=execution.enrollment.pk,
                    step_key=run.step_key,
                    status=Invitation.Status.SUPPRESSED if reason else Invitation.Status.SENT,
                    suppressed_reason=reason or "",
                    created_at=execution.now,
                    expires_at=execution.now + dt.timedelta(days=survey.expires_after_days),
                )
                fresh.append(invitation)
            per_run.setdefault(run.pk, []).append(invitation)
    Invitation.objects.bulk_create(fresh)
    invitations_counted(fresh)
    emails_queue_many(
        emails=[invitation_email(inv) for inv in fresh if inv.status == Invitation.Status.SENT]
    )
    return [_result(execution, surveys, per_run) for execution in executions]


def _result(execution, surveys, per_run) -> dict[str, Any]:
    survey = surveys.get(str(execution.step.config.get("survey")))
    if survey is None:
        return {"skipped": f"the survey “{execution.step.config.get('survey')}” was deleted"}
    invitations = per_run.get(execution.step_run.pk, [])
    if not invitations:
        return {"skipped": "no contact to ask"}
    sent = [inv for inv in invitations if inv.status != Invitation.Status.SUPPRESSED]
    names = ", ".join(inv.contact.name for inv in sent)
    if not sent:
        reason = invitations[0].suppressed_reason
        return {
            "outcome": "suppressed",
            "reason": reason,
            "invitation_ids": [inv.pk for inv in invitations],
            "summary": f"{survey.name} not sent: {reason}",
        }
    return {
        "outcome": "sent",
        "survey_kind": survey.kind,
        "invitation_ids": [inv.pk for inv in invitations],
        "summary": f"{survey.name} sent to {names}",
    }


def simulate_survey_answer(step_run: Any, answers: Mapping[str, str]) -> list[Any]:
    """In a simulation: the contacts asked answer ``answers[<survey kind>]`` (none with
    "none" or no entry), through the same service as the public page."""
    events = []
    for invitation in Invitation.objects.filter(
        step_run=step_run, status=Invitation.Status.SENT
    ).select_related("survey"):
        answer = answers.get(invitation.survey.kind, "none")
        if answer == "none":
            continue
        response = response_record(
            invitation=invitation, score=answer, comment="(an answer assumed by the simulation)"
        )
        events.append(
            DomainEvent.objects.get(
                name="survey.answered", aggregate_type="response", aggregate_id=response.pk
            )
        )
    return events


step_kinds.register(
    step_kinds.StepKind(
        name="survey",
        label="Survey to the customer (NPS, CSAT, CES)",
        execute=step_kinds.one_at_a_time(execute_survey_steps),
        execute_many=execute_survey_steps,
        validate_config=validate_survey_config,
        # A cancelled enrollment's unsent invitations and reminders are withdrawn.
        withdraw=withdraw_step_emails,
        simulate_answer=simulate_survey_answer,
        config_form=SurveyConfigForm,
    )
)
