"""Survey writes: answering an invitation, following a response up, reminding.

An answer is a record: it is stored once, with the invitation it answers, and raises
``survey.answered`` so waiting playbooks go on. Staff add a follow-up to it; nobody edits
what the customer said.
"""

import datetime as dt
import logging
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import reverse

from apps.core import clock
from apps.core.errors import Conflict, NotPermitted, ValidationFailed
from apps.core.events import event_emit
from apps.core.links import absolute_url
from apps.core.templating import render_text
from apps.notifications.services import OutgoingEmail, emails_queue_many
from apps.surveys.models import SCALE_LABELS, SCALES, Invitation, Response, Survey, band_of
from apps.surveys.rollups import response_followed_up, responses_counted
from apps.surveys.tokens import invitation_token

logger = logging.getLogger(__name__)

COMMENT_MAX = 2000
REMINDER_BATCH = 500


# Invitation emails ---------------------------------------------------------------------


def answer_url(invitation: Invitation, score: int | None = None) -> str:
    path = reverse("survey:answer", args=[invitation_token(invitation.pk)])
    query = f"?score={score}" if score is not None else ""
    return absolute_url(path) + query


def question_text(survey: Survey, company: str) -> str:
    """The survey's question with ``{{ company }}`` filled in (admin-written: rendered as
    every other admin template is)."""
    return render_text(survey.question, {"company": company})


def invitation_email(invitation: Invitation, *, reminder: bool = False) -> OutgoingEmail:
    """The invitation (or its one reminder) with the whole scale in the email: each score
    links to the answer page with that score selected."""
    survey, contact = invitation.survey, invitation.contact
    low, high, _, _ = SCALES[survey.kind]
    context = {
        "contact": contact,
        "company": invitation.account.name,
        "question": question_text(survey, invitation.account.name),
        "scores": [(score, answer_url(invitation, score)) for score in range(low, high + 1)],
        "low_label": SCALE_LABELS[survey.kind][0],
        "high_label": SCALE_LABELS[survey.kind][1],
        "reminder": reminder,
        "expires_at": invitation.expires_at,
    }
    subject = question_text(survey, invitation.account.name)
    if reminder:
        subject = f"Reminder: {subject}"
    return OutgoingEmail(
        to_email=contact.email,
        to_name=contact.name,
        subject=subject,
        body_text=render_to_string("surveys/email/invitation.txt", context),
        body_html=render_to_string("surveys/email/invitation.html", context),
        idempotency_key=f"survey:{invitation.pk}:{'reminder' if reminder else 'invite'}",
        step_run=invitation.step_run,
        contact=contact,
    )


# Answering -----------------------------------------------------------------------------


def invitation_state(invitation: Invitation, now: dt.datetime) -> str:
    """ "open", "answered", "expired" or "suppressed" (never sent)."""
    if invitation.status == Invitation.Status.ANSWERED:
        return "answered"
    if invitation.status == Invitation.Status.SUPPRESSED:
        return "suppressed"
    return "expired" if invitation.expires_at <= now else "open"


def parse_score(survey: Survey, raw: Any) -> int:
    """The score as a whole number on the survey's scale, or ``ValidationFailed``."""
    low, high, _, _ = SCALES[survey.kind]
    try:
        score = int(str(raw).strip())
    except (TypeError, ValueError):
        raise ValidationFailed(
            "Choose a score.", {"score": [f"Choose a whole number from {low} to {high}."]}
        ) from None
    if not low <= score <= high:
        raise ValidationFailed(
            "That score is not on the scale.",
            {"score": [f"Choose a whole number from {low} to {high}; {score} is not."]},
        )
    return score


@transaction.atomic
def response_record(*, invitation: Invitation, score: Any, comment: str = "") -> Response:
    """Store the answer to ``invitation`` and raise ``survey.answered``. One answer per
    invitation: a second raises ``Conflict``; an expired or never-sent one too."""
    invitation = (
        Invitation.objects.select_for_update()
        .select_related("survey", "account", "contact")
        .get(pk=invitation.pk)
    )
    state = invitation_state(invitation, clock.now())
    if state == "answered":
        raise Conflict("This survey has already been answered.")
    if state != "open":
        raise Conflict(f"This survey link has {'expired' if state == 'expired' else 'no answer'}.")
    survey = invitation.survey
    value = parse_score(survey, score)
    comment = (comment or "").strip()
    if len(comment) > COMMENT_MAX:
        raise ValidationFailed(
            "The comment is too long.",
            {"comment": [f"Keep it under {COMMENT_MAX} characters; it has {len(comment)}."]},
        )
    account = invitation.account
    response = Response.objects.create(
        invitation=invitation,
        survey=survey,
        kind=survey.kind,
        score=value,
        band=band_of(survey.kind, value),
        comment=comment,
        answered_at=clock.now(),
        account=account,
        contact=invitation.contact,
        playbook_id=invitation.playbook_id,
        segment=account.segment,
        csm_id=account.csm_id,
    )
    invitation.status = Invitation.Status.ANSWERED
    invitation.save(update_fields=["status"])
    responses_counted([response])
    event_emit(
        name="survey.answered",
        aggregate=response,
        payload={
            "enrollment_id": invitation.enrollment_id,
            "step_key": invitation.step_key,
            "account_id": account.pk,
            "survey": survey.slug,
            "survey_kind": survey.kind,
            "score": value,
            "band": response.band,
            "comment": comment,
            "contact_id": invitation.contact_id,
            "contact": invitation.contact.name,
            "response_id": response.pk,
        },
    )
    logger.info("survey response %s: %s %s", response.pk, survey.kind, value)
    return response


@transaction.atomic
def response_follow_up(*, response: Response, actor: Any, note: str) -> Response:
    """Mark a response followed up, with what was done. Once: the first note stays."""
    if not actor.has_perm("surveys.change_response"):
        raise NotPermitted("You may not follow up survey responses.")
    note = (note or "").strip()
    if not note:
        raise ValidationFailed("Say what was done.", {"note": ["Write a short note."]})
    if len(note) > COMMENT_MAX:
        raise ValidationFailed("The note is too long.", {"note": [f"Keep it under {COMMENT_MAX}."]})
    updated = Response.objects.filter(pk=response.pk, followed_up_at__isnull=True).update(
        followed_up_at=clock.now(), followed_up_by=actor, follow_up_note=note
    )
    if not updated:
        raise Conflict("This response was already followed up.")
    response.refresh_from_db()
    response_followed_up(response)
    return response


# Reminders -----------------------------------------------------------------------------


def invitations_remind_due(*, now: dt.datetime) -> int:
    """Periodic: one reminder per unanswered invitation once its survey's reminder delay
    has passed, and never after an answer or expiry. Returns how many were queued."""
    # One reminder delay per survey: due invitations are chosen in the database per
    # survey (a handful), so a long delay on one survey never holds back another's.
    waiting = Q()
    for survey in Survey.objects.filter(remind_after_days__gt=0):
        waiting |= Q(
            survey=survey, created_at__lte=now - dt.timedelta(days=survey.remind_after_days)
        )
    if not waiting:
        return 0
    due = list(
        Invitation.objects.select_related("survey", "contact", "account", "step_run")
        .filter(
            waiting,
            status=Invitation.Status.SENT,
            reminded_at__isnull=True,
            expires_at__gt=now,
            contact__unsubscribed=False,
        )
        .order_by("created_at")[:REMINDER_BATCH]
    )
    if not due:
        return 0
    with transaction.atomic():
        emails_queue_many(emails=[invitation_email(inv, reminder=True) for inv in due])
        Invitation.objects.filter(pk__in=[inv.pk for inv in due]).update(reminded_at=now)
    return len(due)
