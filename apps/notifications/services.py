"""Notification and email writes.

Email is an outbox: ``email_queue`` writes a row in the caller's transaction and asks a
worker to deliver it after commit; ``email_deliver`` claims the row, sends it outside any
transaction and records the outcome; the periodic ``emails_deliver_due`` sweep retries
failures with backoff and picks up rows whose message was lost.
"""

import datetime as dt
import hashlib
import logging
import re
from dataclasses import dataclass
from email.utils import formataddr, parseaddr
from typing import Any

from django.conf import settings
from django.core import mail
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import F, Q
from django.template.loader import render_to_string

from apps.core import clock, outbox
from apps.core.errors import NotPermitted, ValidationFailed
from apps.notifications.models import EmailMessage, Notification, SilencedNotice
from apps.notifications.selectors import EMAIL, IN_APP, notification_channels

logger = logging.getLogger(__name__)

EMAIL_MAX_ATTEMPTS = 6
# Longer than the delivery task's hard time limit, so a lease only expires once the
# worker holding it is surely gone.
EMAIL_LEASE = dt.timedelta(minutes=5)
SMTP_TIMEOUT_SECONDS = 30

Status = EmailMessage.Status


# Notifications -------------------------------------------------------------------------


@transaction.atomic
def notification_create(
    *,
    recipient: Any,
    reason: str,
    title: str,
    body: str = "",
    url: str = "",
    dedupe_key: str | None = None,
    account: Any = None,
    deal: Any = None,
    step_run: Any = None,
) -> Notification:
    """Notify ``recipient`` in the app. With a ``dedupe_key``, a second call returns the
    notification the first one created (a duplicate delivery notifies nobody twice)."""
    if reason not in Notification.Reason.values:
        raise ValidationFailed("Unknown notification reason.", {"reason": [f"“{reason}”?"]})
    fields = {
        "recipient": recipient,
        "reason": reason,
        "title": title[:300],
        "body": body,
        "url": url[:500],
        "account": account,
        "deal": deal,
        "step_run": step_run,
    }
    if dedupe_key is None:
        return Notification.objects.create(**fields)
    notification, _ = Notification.objects.get_or_create(dedupe_key=dedupe_key, defaults=fields)
    return notification


@dataclass(frozen=True)
class Notified:
    """What ``notify`` wrote: the in-app notification and the email, each only if the
    recipient wants that channel; ``created`` is False when the key had been used."""

    notification: Notification | None
    email: EmailMessage | None
    created: bool


def absolute_url(path: str) -> str:
    """A link that works from an email: ``path`` under the site's base URL, if set."""
    if not path or "://" in path:
        return path
    return getattr(settings, "SITE_URL", "").rstrip("/") + path


def email_render(*, template: str, context: dict[str, Any]) -> tuple[str, str]:
    """Render ``<template>.txt`` and ``<template>.html``; returns (text, html)."""
    text = render_to_string(f"{template}.txt", context)
    # Optional lines in text templates leave runs of blank lines behind.
    text = re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"
    return text, render_to_string(f"{template}.html", context)


@transaction.atomic
def notify(
    *,
    recipient: Any,
    reason: str,
    title: str,
    body: str = "",
    url: str = "",
    dedupe_key: str,
    email_template: str | None = None,
    context: dict[str, Any] | None = None,
    account: Any = None,
    deal: Any = None,
    step_run: Any = None,
) -> Notified:
    """Tell ``recipient`` something on the channels they chose for ``reason``: an in-app
    notification and/or an email rendered from ``email_template`` (by default
    ``notifications/email/<reason>``) and queued in the outbox.

    Idempotent on ``dedupe_key``: a second call, a duplicate event delivery or a periodic
    job running twice writes nothing new.
    """
    if not recipient.is_active:
        return Notified(notification=None, email=None, created=False)
    channels = notification_channels(recipient, reason)
    notification = email = None
    created = False
    if IN_APP in channels:
        notification = Notification.objects.filter(dedupe_key=dedupe_key).first()
        if notification is None:
            notification = notification_create(
                recipient=recipient,
                reason=reason,
                title=title,
                body=body,
                url=url,
                dedupe_key=dedupe_key,
                account=account,
                deal=deal,
                step_run=step_run,
            )
            created = True
    if EMAIL in channels and recipient.email:
        email_key = f"{dedupe_key}:email"
        email = EmailMessage.objects.filter(idempotency_key=email_key).first()
        if email is None:
            text, html = email_render(
                template=email_template or f"notifications/email/{reason}",
                context={
                    "recipient": recipient,
                    "title": title,
                    "body": body,
                    "url": absolute_url(url),
                    **(context or {}),
                },
            )
            try:
                email = email_queue(
                    to_email=recipient.email,
                    to_name=recipient.get_full_name(),
                    subject=title,
                    body_text=text,
                    body_html=html,
                    idempotency_key=email_key,
                    step_run=step_run,
                    recipient=recipient,
                )
                created = True
            except ValidationFailed:
                # A mistyped address must not block the in-app notification.
                logger.warning("not emailing user %s: invalid address", recipient.pk)
    if notification is None and email is None:
        SilencedNotice.objects.get_or_create(
            dedupe_key=dedupe_key, defaults={"recipient": recipient, "reason": reason}
        )
    return Notified(notification=notification, email=email, created=created)


@transaction.atomic
def notification_mark_read(*, notification: Notification, user: Any) -> bool:
    """Mark one of the user's notifications read. Returns False if it already was."""
    if notification.recipient_id != user.pk:
        raise NotPermitted("This notification is not yours.")
    now = clock.now()
    updated = Notification.objects.filter(pk=notification.pk, read_at__isnull=True).update(
        read_at=now
    )
    if updated:
        notification.read_at = now
    return bool(updated)


@transaction.atomic
def notifications_mark_all_read(*, user: Any) -> int:
    """Mark every unread notification of ``user`` read; returns how many."""
    return Notification.objects.filter(recipient=user, read_at__isnull=True).update(
        read_at=clock.now()
    )


# Email outbox --------------------------------------------------------------------------


EMAIL_RETRY = outbox.Backoff(first=dt.timedelta(minutes=1), cap=dt.timedelta(hours=6))


def _sweep_grace() -> dt.timedelta:
    # A fresh email is left to its on-commit message before the sweep takes it.
    return dt.timedelta(seconds=settings.OUTBOX_SWEEP_GRACE_SECONDS)


def _deliverable(now: dt.datetime) -> Q:
    """Rows a delivery may claim: queued, failed and due for its retry, or stuck in
    ``sending`` because the worker holding the lease died."""
    return (
        Q(status=Status.QUEUED)
        | Q(status=Status.FAILED, next_attempt_at__lte=now)
        | Q(status=Status.SENDING, lease_until__lt=now)
    )


def _withdrawable(now: dt.datetime) -> Q:
    # A row in ``sending`` with a live lease is in a worker's hands: too late to stop it.
    return Q(status__in=[Status.QUEUED, Status.FAILED]) | Q(
        status=Status.SENDING, lease_until__lt=now
    )


def email_message_id(email: EmailMessage) -> str:
    """A Message-ID that is the same on every attempt, so a resend after a worker died
    mid-send is recognised as the same message by mail servers and clients."""
    digest = hashlib.sha256(email.idempotency_key.encode()).hexdigest()[:32]
    domain = parseaddr(settings.DEFAULT_FROM_EMAIL)[1].rpartition("@")[2] or "afterwin.local"
    return f"<{digest}@{domain}>"


def email_send_after_commit(*, email_id: int) -> None:
    """Ask a worker to deliver the email once the caller's transaction commits; if the
    broker is down, the periodic delivery sweep sends it."""
    from apps.notifications.tasks import deliver_email

    outbox.send_after_commit(deliver_email, email_id, what=f"email {email_id}")


@transaction.atomic
def email_queue(
    *,
    to_email: str,
    to_name: str = "",
    subject: str,
    body_text: str,
    body_html: str = "",
    idempotency_key: str,
    step_run: Any = None,
    recipient: Any = None,
    contact: Any = None,
) -> EmailMessage:
    """Write an email to the outbox; it is delivered after the caller's transaction
    commits. A second call with the same ``idempotency_key`` returns the first email."""
    existing = EmailMessage.objects.filter(idempotency_key=idempotency_key).first()
    if existing is not None:
        return existing
    try:
        validate_email(to_email)
    except ValidationError:
        raise ValidationFailed(
            "The email address is not valid.", {"to_email": [f"“{to_email}” is not an address."]}
        ) from None
    now = clock.now()
    email, created = EmailMessage.objects.get_or_create(
        idempotency_key=idempotency_key,
        defaults={
            "to_email": to_email,
            "to_name": to_name[:200],
            # Mail headers cannot hold line breaks; a template may have produced some.
            "subject": " ".join(subject.split())[:300],
            "body_text": body_text,
            "body_html": body_html,
            "step_run": step_run,
            "recipient": recipient,
            "contact": contact,
            "created_at": now,
            "next_attempt_at": now + _sweep_grace(),
        },
    )
    if created:
        email_send_after_commit(email_id=email.pk)
    return email


@dataclass(frozen=True)
class OutgoingEmail:
    """An email for ``emails_queue_many``."""

    to_email: str
    to_name: str
    subject: str
    body_text: str
    idempotency_key: str
    step_run: Any = None
    contact: Any = None


def emails_queue_many(*, emails: list[OutgoingEmail]) -> list[EmailMessage | Exception]:
    """``email_queue`` for many emails: one SELECT for those already queued, one INSERT,
    and one delivery message after commit for all of them. An invalid address comes back
    as a ``ValidationFailed`` in its place; the others are queued."""
    existing = EmailMessage.objects.in_bulk(
        [email.idempotency_key for email in emails], field_name="idempotency_key"
    )
    now = clock.now()
    results: list[EmailMessage | Exception] = []
    fresh: list[EmailMessage] = []
    for email in emails:
        if email.idempotency_key in existing:
            results.append(existing[email.idempotency_key])
            continue
        try:
            validate_email(email.to_email)
        except ValidationError:
            results.append(
                ValidationFailed(
                    "The email address is not valid.",
                    {"to_email": [f"“{email.to_email}” is not an address."]},
                )
            )
            continue
        row = EmailMessage(
            to_email=email.to_email,
            to_name=email.to_name[:200],
            subject=" ".join(email.subject.split())[:300],
            body_text=email.body_text,
            idempotency_key=email.idempotency_key,
            step_run=email.step_run,
            contact=email.contact,
            created_at=now,
            next_attempt_at=now,  # due at once: the delivery run below takes them all
        )
        fresh.append(row)
        results.append(row)
    if fresh:
        EmailMessage.objects.bulk_create(fresh)
        from apps.notifications.tasks import deliver_due_emails

        outbox.send_after_commit(deliver_due_emails, what=f"delivery of {len(fresh)} emails")
    return results


def _email_claim(email_id: int, now: dt.datetime) -> bool:
    # Of two workers holding the same id, exactly one claims it, and only that one sends.
    return outbox.claim_row(
        EmailMessage.objects.filter(_deliverable(now)),
        pk=email_id,
        lease={
            "status": Status.SENDING,
            "lease_until": now + EMAIL_LEASE,
            "attempts": F("attempts") + 1,
        },
    )


def _email_build(email: EmailMessage) -> mail.EmailMultiAlternatives:
    message = mail.EmailMultiAlternatives(
        subject=email.subject,
        body=email.body_text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[formataddr((email.to_name, email.to_email))],
        headers={"Message-ID": email_message_id(email)},
        connection=mail.get_connection(timeout=settings.EMAIL_TIMEOUT or SMTP_TIMEOUT_SECONDS),
    )
    if email.body_html:
        message.attach_alternative(email.body_html, "text/html")
    return message


def email_deliver(*, email_id: int) -> str:
    """Send one email, at most once per claim. Returns what happened.

    Must run outside a transaction: the claim commits before the SMTP conversation, and
    the outcome is written after it, so no database lock is held while the network is.
    """
    now = clock.now()
    if not _email_claim(email_id, now):
        status = EmailMessage.objects.filter(pk=email_id).values_list("status", flat=True).first()
        return f"skipped: {status or 'missing'}"
    email = EmailMessage.objects.select_related("contact").get(pk=email_id)
    if email.contact is not None and email.contact.unsubscribed:
        EmailMessage.objects.filter(pk=email_id, status=Status.SENDING).update(
            status=Status.WITHDRAWN, lease_until=None, withdrawn_reason="Contact unsubscribed."
        )
        return Status.WITHDRAWN
    try:
        _email_build(email).send()
    except Exception as exc:
        logger.warning("email %s failed (attempt %s)", email_id, email.attempts, exc_info=True)
        return _email_record_failure(email=email, error=f"{type(exc).__name__}: {exc}")
    EmailMessage.objects.filter(pk=email_id, status=Status.SENDING).update(
        status=Status.SENT, sent_at=clock.now(), lease_until=None, last_error=""
    )
    logger.info("email %s sent", email_id)
    return Status.SENT


def _email_record_failure(*, email: EmailMessage, error: str) -> str:
    """Schedule a retry with exponential backoff, or mark the email dead after the last."""
    now = clock.now()
    if email.attempts >= EMAIL_MAX_ATTEMPTS:
        status, next_attempt_at = Status.DEAD, now
    else:
        status, next_attempt_at = Status.FAILED, now + EMAIL_RETRY.after(email.attempts)
    EmailMessage.objects.filter(pk=email.pk, status=Status.SENDING).update(
        status=status, next_attempt_at=next_attempt_at, lease_until=None, last_error=error[:4000]
    )
    return status


def emails_deliver_due(*, limit: int = 100) -> int:
    """Deliver emails whose retry is due, whose message was lost, or whose worker died
    mid-send. Returns how many were sent."""
    now = clock.now()
    due = (
        EmailMessage.objects.filter(
            Q(status__in=[Status.QUEUED, Status.FAILED], next_attempt_at__lte=now)
            | Q(status=Status.SENDING, lease_until__lt=now)
        )
        .order_by("next_attempt_at", "id")
        .values_list("id", flat=True)[:limit]
    )
    return sum(email_deliver(email_id=email_id) == Status.SENT for email_id in list(due))


@transaction.atomic
def email_withdraw(*, email: EmailMessage, reason: str) -> bool:
    """Stop an email that has not been sent. Returns False if it is sent, dead, already
    withdrawn or being sent right now."""
    updated = EmailMessage.objects.filter(_withdrawable(clock.now()), pk=email.pk).update(
        status=Status.WITHDRAWN, lease_until=None, withdrawn_reason=reason
    )
    if updated:
        email.status, email.withdrawn_reason = Status.WITHDRAWN, reason
    return bool(updated)


@transaction.atomic
def email_retry(*, email: EmailMessage) -> bool:
    """Give a failed or dead email a fresh set of attempts and deliver it now (after
    commit). Returns False if it was not failed or dead."""
    updated = EmailMessage.objects.filter(
        pk=email.pk, status__in=[Status.FAILED, Status.DEAD]
    ).update(status=Status.QUEUED, attempts=0, next_attempt_at=clock.now(), lease_until=None)
    if updated:
        email_send_after_commit(email_id=email.pk)
    return bool(updated)
