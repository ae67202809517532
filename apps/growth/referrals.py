"""Referrals: asking a happy customer, taking what they send, and what it became.

A referral ask is a ``ReferralRequest``; its email carries a personal signed link to the
public page. A submission is a ``Referral``: it is deduplicated against the accounts we
know (by the email's domain), becomes a new account, contact and deal in ``new`` with
source "referral" (or is linked to the existing account and flagged for the rep), and
tells the rep, the referrer's CSM and, with a thank-you, the referrer. When the referred
deal is won the referral is converted: ``referral.converted`` is raised, the rep gets a
"thank the referrer" task and the active reward rule records a reward owed.
"""

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import reverse

from apps.core import clock
from apps.core.errors import Conflict, Gone, NotPermitted, ValidationFailed
from apps.core.events import EventSpec, events_emit_many
from apps.core.links import absolute_url
from apps.core.validators import is_domain
from apps.customers.models import Account, Contact
from apps.customers.services import account_create, contact_create
from apps.deals.models import OPEN_STAGES, Deal
from apps.deals.services import deal_create
from apps.growth.models import Referral, ReferralRequest, Reward, RewardRule
from apps.growth.tokens import referral_token
from apps.notifications.services import (
    Notice,
    OutgoingEmail,
    emails_queue_many,
    notify_many,
)
from apps.queues.models import Queue, Task
from apps.queues.services import task_create

logger = logging.getLogger(__name__)

NOTE_MAX = 2000
# How many companies one link may refer (a promoter may know several; a leaked link
# must not become a spam gate).
MAX_PER_LINK = 10
# Domains many unrelated people share: an address there says nothing about the company.
SHARED_MAIL_DOMAINS = frozenset(
    {
        "gmail.com",
        "googlemail.com",
        "outlook.com",
        "hotmail.com",
        "live.com",
        "yahoo.com",
        "icloud.com",
        "me.com",
        "aol.com",
        "proton.me",
        "protonmail.com",
        "gmx.com",
        "gmx.de",
        "web.de",
        "mail.com",
        "yandex.com",
        "example.com",
    }
)


def referral_url(request: ReferralRequest) -> str:
    return absolute_url(reverse("referral:refer", args=[referral_token(request.pk)]))


def deal_page_url(deal: Deal) -> str:
    """The deal's page in the web UI, where its rep works it."""
    return absolute_url(reverse("deals:deal_detail", args=[deal.pk]))


# Asking ------------------------------------------------------------------------------------


def ask_refusal(contact: Contact, *, now: dt.datetime, within_days: int) -> str | None:
    """Why ``contact`` may not be asked for a referral now, or None."""
    if contact.unsubscribed:
        return "the contact unsubscribed"
    if not contact.email:
        return "the contact has no email address"
    since = now - dt.timedelta(days=within_days)
    if ReferralRequest.objects.filter(
        contact=contact, status=ReferralRequest.Status.ASKED, created_at__gte=since
    ).exists():
        return f"the contact was asked for a referral in the last {within_days} days"
    return None


def ask_email(request: ReferralRequest) -> OutgoingEmail:
    contact = request.contact
    context = {
        "contact": contact,
        "company": request.account.name,
        "url": referral_url(request),
        "expires_at": request.expires_at,
    }
    return OutgoingEmail(
        to_email=contact.email,
        to_name=contact.name,
        subject=f"Who else should know about us, {contact.name.split(' ')[0]}?",
        body_text=render_to_string("growth/email/referral_ask.txt", context),
        body_html=render_to_string("growth/email/referral_ask.html", context),
        idempotency_key=f"referral-ask:{request.pk}",
        step_run=request.step_run,
        contact=contact,
    )


def request_state(request: ReferralRequest, now: dt.datetime) -> str:
    """ "open", "expired" or "withdrawn" (held back, never sent)."""
    if request.status != ReferralRequest.Status.ASKED:
        return "withdrawn"
    return "open" if now < request.expires_at else "expired"


def request_opened(request: ReferralRequest, now: dt.datetime) -> None:
    """The link was opened (the funnel's second stage); only the first time counts."""
    if request.opened_at is None:
        ReferralRequest.objects.filter(pk=request.pk, opened_at__isnull=True).update(opened_at=now)
        request.opened_at = now


# Submitting --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Submission:
    company: str
    contact_name: str
    email: str
    title: str = ""
    note: str = ""
    consent: bool = False


def _check(submission: Submission) -> Submission:
    errors: dict[str, list[str]] = {}
    company, name = submission.company.strip(), submission.contact_name.strip()
    email, title = submission.email.strip().lower(), submission.title.strip()
    note = submission.note.strip()
    if not company:
        errors["company"] = ["Tell us the company's name."]
    elif len(company) > 200:
        errors["company"] = ["Keep it under 200 characters."]
    if not name:
        errors["contact_name"] = ["Tell us whom to contact."]
    elif len(name) > 200:
        errors["contact_name"] = ["Keep it under 200 characters."]
    try:
        validate_email(email)
    except ValidationError:
        errors["email"] = ["Give their work email address, e.g. jane@example.org."]
    if len(title) > 200:
        errors["title"] = ["Keep it under 200 characters."]
    if len(note) > NOTE_MAX:
        errors["note"] = [f"Keep it under {NOTE_MAX} characters."]
    if submission.consent is not True:
        errors["consent"] = ["Please confirm they agreed to hear from us."]
    if errors:
        raise ValidationFailed("The referral was not sent: check the fields marked.", errors)
    return Submission(company, name, email, title, note, True)


def email_domain(email: str) -> str:
    return email.rsplit("@", 1)[-1].lower()


def matching_account(email: str) -> Account | None:
    """The account this address belongs to: one with a contact of that address, else
    one whose domain (or a contact's) is the address's, unless it is a shared mail
    domain."""
    contact = Contact.objects.filter(email__iexact=email).select_related("account").first()
    if contact is not None:
        return contact.account
    domain = email_domain(email)
    if domain in SHARED_MAIL_DOMAINS:
        return None
    return (
        Account.objects.filter(
            Q(domain__iexact=domain) | Q(contacts__email__iendswith=f"@{domain}")
        )
        .order_by("pk")
        .first()
    )


@transaction.atomic
def referral_submit(*, request: ReferralRequest, submission: Submission) -> Referral:
    """Store a referral sent through ``request``'s link and act on it (see the module
    text). Invalid fields raise ``ValidationFailed``, a closed link ``Gone``, the same
    address twice through one link ``Conflict``; none of them stores anything."""
    now = clock.now()
    request = (
        ReferralRequest.objects.select_for_update(of=("self",))
        .select_related("contact", "account__owner", "account__csm")
        .get(pk=request.pk)
    )
    state = request_state(request, now)
    if state != "open":
        raise Gone("This referral link is closed.")
    submission = _check(submission)
    sent_before = request.referrals.filter(email__iexact=submission.email).first()
    if sent_before is not None:
        raise Conflict(
            f"You already referred {submission.email} on "
            f"{sent_before.submitted_at:%d %b %Y}. Thank you: we are on it."
        )
    if request.referrals.count() >= MAX_PER_LINK:
        raise Conflict(
            f"This link has already sent {MAX_PER_LINK} referrals. Thank you! "
            "Write to your account manager for more."
        )
    referrer_account = request.account
    rep = referrer_account.owner
    account = matching_account(submission.email)
    flag, deal, contact = "", None, None
    if account is not None:
        flag = (
            f"The address {submission.email} belongs to the existing account "
            f"“{account.name}”: the referral was linked to it instead of creating a new one."
        )
        contact = Contact.objects.filter(account=account, email__iexact=submission.email).first()
        open_deal = (
            Deal.objects.filter(account=account, stage__in=OPEN_STAGES).order_by("pk").first()
        )
        if open_deal is not None:
            outcome = Referral.Outcome.OPEN_DEAL
            flag += f" It already has the open deal “{open_deal.name}”, so no deal was added."
        else:
            outcome = Referral.Outcome.EXISTING_ACCOUNT
    else:
        outcome = Referral.Outcome.NEW_ACCOUNT
        domain = email_domain(submission.email)
        # An address at "localhost" or an IP literal is a valid email but names no company.
        keep_domain = domain not in SHARED_MAIL_DOMAINS and is_domain(domain)
        account = account_create(
            actor=None,
            name=submission.company,
            domain=domain if keep_domain else "",
            owner=rep,
        )
    if contact is None:
        contact = contact_create(
            actor=None,
            account=account,
            name=submission.contact_name,
            email=submission.email,
            title=submission.title,
            is_primary=not account.contacts.filter(is_primary=True).exists(),
        )
    if outcome != Referral.Outcome.OPEN_DEAL:
        deal = deal_create(
            actor=None,
            account=account,
            name=f"{account.name} — referred by {request.contact.name}"[:200],
            source=Deal.Source.REFERRAL,
            owner=account.owner or rep,
            primary_contact=contact,
        )
    try:
        with transaction.atomic():
            referral = Referral.objects.create(
                request=request,
                referrer_contact=request.contact,
                referrer_account=referrer_account,
                company=submission.company,
                contact_name=submission.contact_name,
                email=submission.email,
                title=submission.title,
                note=submission.note,
                consent_at=now,
                submitted_at=now,
                outcome=outcome,
                flag=flag,
                account=account,
                contact=contact,
                deal=deal,
            )
    except IntegrityError:  # the same address through the same link, at the same moment
        raise Conflict(f"You already referred {submission.email}. Thank you!") from None
    _announce(referral, rep=rep)
    logger.info("referral %s: %s (%s)", referral.pk, referral.company, outcome)
    return referral


def _announce(referral: Referral, *, rep: Any) -> None:
    """Tell the rep and the referrer's CSM; thank the referrer."""
    referrer, referrer_account = referral.referrer_contact, referral.referrer_account
    title = (
        f"Referral from {referrer.name} at {referrer_account.name}: "
        f"{referral.contact_name} at {referral.company}"
    )[:200]
    body = (
        f"{referrer.name} ({referrer_account.name}) referred {referral.contact_name}"
        f"{', ' + referral.title if referral.title else ''} at {referral.company} "
        f"<{referral.email}>.\n\nTheir note: “{referral.note or '(none)'}”"
    )
    if referral.flag:
        body += f"\n\nPlease look: {referral.flag}"
    deal = referral.deal
    people = {person.pk: person for person in (rep, referrer_account.csm) if person is not None}
    notify_many(
        notices=[
            Notice(
                recipient=person,
                reason="referral_received",
                title=title,
                body=body,
                dedupe_key=f"referral:{referral.pk}:{person.pk}",
                url=deal_page_url(deal) if deal else "",
                account=referral.account,
                deal=deal,
            )
            for person in people.values()
        ]
    )
    if referrer.email and not referrer.unsubscribed:
        context = {"referrer": referrer, "referral": referral}
        emails_queue_many(
            emails=[
                OutgoingEmail(
                    to_email=referrer.email,
                    to_name=referrer.name,
                    subject=f"Thank you for referring {referral.company}",
                    body_text=render_to_string("growth/email/referral_thanks.txt", context),
                    body_html=render_to_string("growth/email/referral_thanks.html", context),
                    idempotency_key=f"referral:{referral.pk}:thanks",
                    contact=referrer,
                )
            ]
        )


# Conversion and rewards --------------------------------------------------------------------


def referral_won(event: Any) -> None:
    referrals_won([event])


def referrals_won(events: list[Any]) -> None:
    """``deal.closed_won``: a referred deal that is won converts its referral (once: a
    repeated event, or the deal won again after a reopen, changes nothing). One query for
    a batch of closes none of which was referred, which is most of them."""
    won_at = {(e.payload or {}).get("deal_id"): e.occurred_at for e in events}
    converted = list(
        Referral.objects.select_for_update(of=("self",))
        .filter(deal_id__in=[deal_id for deal_id in won_at if deal_id], converted_at__isnull=True)
        .select_related("deal__owner", "referrer_contact", "referrer_account")
    )
    if not converted:
        return
    rule = RewardRule.objects.filter(active=True).order_by("-created_at", "-pk").first()
    queue = Queue.objects.filter(slug=settings.GROWTH_REFERRAL_QUEUE).first()
    rewards: dict[int, Reward] = {}
    for referral in converted:
        referral.converted_at, referral.won_amount = won_at[referral.deal_id], referral.deal.amount
        if rule is not None:
            rewards[referral.pk] = Reward(
                referral=referral,
                rule=rule,
                amount=rule.reward_for(referral.deal.amount),
                currency=(
                    rule.currency if rule.kind == RewardRule.Kind.FIXED else referral.deal.currency
                ),
            )
    Referral.objects.bulk_update(converted, ["converted_at", "won_amount"])
    Reward.objects.bulk_create(rewards.values())
    if queue is None:
        logger.warning(
            "%d referral(s) converted: no queue %r for the thank-you tasks",
            len(converted),
            settings.GROWTH_REFERRAL_QUEUE,
        )
    else:
        # Referred deals are a handful a day: one task each, through the queue's rules.
        for referral in converted:
            _thank_referrer_task(referral, queue=queue, reward=rewards.get(referral.pk))
    events_emit_many(
        events=[
            EventSpec(
                name="referral.converted",
                aggregate_type="referral",
                aggregate_id=referral.pk,
                payload={
                    "referral_id": referral.pk,
                    "account_id": referral.referrer_account_id,
                    "referrer_contact_id": referral.referrer_contact_id,
                    "referred_account_id": referral.account_id,
                    "deal_id": referral.deal_id,
                    "amount": str(referral.won_amount or 0),
                },
            )
            for referral in converted
        ]
    )


def _thank_referrer_task(referral: Referral, *, queue: Queue, reward: Reward | None) -> Task:
    referrer, deal = referral.referrer_contact, referral.deal
    body = (
        f"{referral.company} became a customer ({deal.name}: {deal.amount or 0} "
        f"{deal.currency}). Thank {referrer.name} at {referral.referrer_account.name} "
        "personally for the introduction."
    )
    if reward is not None:
        body += f"\n\nA reward of {reward.amount} {reward.currency} is owed to them."
    return task_create(
        queue=queue,
        title=f"Thank {referrer.name} for referring {referral.company}"[:200],
        body=body,
        kind="general",
        account=referral.referrer_account,
        deal=deal,
        strategy=Queue.Strategy.DEAL_OWNER,
        priority=Task.Priority.P2,
        due_at=clock.now() + dt.timedelta(days=2),
    )


@transaction.atomic
def reward_issue(*, reward: Reward, actor: Any) -> Reward:
    """Mark a reward issued (once); who and when are kept."""
    if actor is not None and not actor.has_perm("growth.change_reward"):
        raise NotPermitted("You may not issue rewards.")
    reward = Reward.objects.select_for_update().get(pk=reward.pk)
    if reward.status == Reward.Status.ISSUED:
        raise Conflict(f"This reward was already issued on {reward.issued_at:%d %b %Y}.")
    reward.status, reward.issued_at, reward.issued_by = Reward.Status.ISSUED, clock.now(), actor
    reward.save(update_fields=["status", "issued_at", "issued_by"])
    return reward
