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
import time
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
from apps.core.links import absolute_url
from apps.notifications.models import EmailMessage, Notification, SilencedNotice
from apps.notifications.selectors import EMAIL, IN_APP, notification_channels
from apps.notifications.unsubscribe import unsubscribe_headers, with_unsubscribe_footer

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


NOTHING = Notified(notification=None, email=None, created=False)


def email_render(*, template: str, context: dict[str, Any]) -> tuple[str, str]:
    """Render ``<template>.txt`` and ``<template>.html``; returns (text, html)."""
    text = render_to_string(f"{template}.txt", context)
    # Optional lines in text templates leave runs of blank lines behind.
    text = re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"
    return text, render_to_string(f"{template}.html", context)


@dataclass(frozen=True)
class OutgoingEmail:
    """An email for ``emails_queue_many``."""

    to_email: str
    to_name: str
    subject: str
    body_text: str
    idempotency_key: str
    body_html: str = ""
    step_run: Any = None
    contact: Any = None
    recipient: Any = None


@dataclass(frozen=True)
class Notice:
    """Something to tell one person, for ``notify_many``. ``dedupe_key`` makes it once
    only; the email is rendered from ``email_template`` (by default
    ``notifications/email/<reason>``) with ``context``."""

    recipient: Any
    reason: str
    title: str
    dedupe_key: str
    body: str = ""
    url: str = ""
    email_template: str | None = None
    context: dict[str, Any] | None = None
    account: Any = None
    deal: Any = None
    step_run: Any = None

    def notification(self) -> Notification:
        return Notification(
            recipient=self.recipient,
            reason=self.reason,
            title=self.title[:300],
            body=self.body,
            url=self.url[:500],
            dedupe_key=self.dedupe_key,
            account=self.account,
            deal=self.deal,
            step_run=self.step_run,
        )

    def email(self) -> OutgoingEmail:
        text, html = email_render(
            template=self.email_template or f"notifications/email/{self.reason}",
            context={
                "recipient": self.recipient,
                "title": self.title,
                "body": self.body,
                "url": absolute_url(self.url),
                **(self.context or {}),
            },
        )
        return OutgoingEmail(
            to_email=self.recipient.email,
            to_name=self.recipient.get_full_name(),
            subject=self.title,
            body_text=text,
            body_html=html,
            idempotency_key=f"{self.dedupe_key}:email",
            step_run=self.step_run,
            recipient=self.recipient,
        )


@transaction.atomic
def notify_many(*, notices: list[Notice]) -> list[Notified]:
    """Tell each notice's recipient on the channels they chose for its reason: an in-app
    notification and/or an email queued in the outbox. A few statements for all of
    them: one read of the keys already used per table, one INSERT per table.

    Idempotent on each ``dedupe_key``: a second call, a duplicate event delivery or a
    periodic job running twice writes nothing new; a key repeated within ``notices``
    counts once. Callers that pass many recipients ``select_related`` their profiles.
    """
    for notice in notices:
        if notice.reason not in Notification.Reason.values:
            raise ValidationFailed(
                "Unknown notification reason.", {"reason": [f"“{notice.reason}”?"]}
            )
    keys = [notice.dedupe_key for notice in notices]
    known = Notification.objects.in_bulk(keys, field_name="dedupe_key")
    # Emails already queued come back from ``emails_queue_many`` in their place.
    known_emails: dict[str, EmailMessage] = {}
    fresh: list[Notification] = []
    outgoing: dict[str, OutgoingEmail] = {}
    plans: list[tuple[Notice, bool, bool]] = []
    for notice in notices:
        if not notice.recipient.is_active:
            plans.append((notice, False, False))
            continue
        channels = notification_channels(notice.recipient, notice.reason)
        in_app = IN_APP in channels
        by_email = EMAIL in channels and bool(notice.recipient.email)
        if in_app and notice.dedupe_key not in known:
            known[notice.dedupe_key] = notice.notification()
            fresh.append(known[notice.dedupe_key])
        email_key = f"{notice.dedupe_key}:email"
        if by_email and email_key not in outgoing:
            outgoing[email_key] = notice.email()
        plans.append((notice, in_app, by_email))
    Notification.objects.bulk_create(fresh)
    queued_list, written = _emails_queue(list(outgoing.values()))
    queued = dict(zip(outgoing, queued_list, strict=True))
    for key, email in queued.items():
        if isinstance(email, Exception):
            # A mistyped address must not block the in-app notification.
            logger.warning("not emailing %s: invalid address", outgoing[key].to_email)
        else:
            known_emails[key] = email
    created = {row.dedupe_key for row in fresh}
    created |= written
    results: list[Notified] = []
    silenced: list[SilencedNotice] = []
    for notice, in_app, by_email in plans:
        if not notice.recipient.is_active:
            results.append(NOTHING)
            continue
        email_key = f"{notice.dedupe_key}:email"
        notification = known.get(notice.dedupe_key) if in_app else None
        email = known_emails.get(email_key) if by_email else None
        if notification is None and email is None:
            silenced.append(
                SilencedNotice(
                    dedupe_key=notice.dedupe_key,
                    recipient=notice.recipient,
                    reason=notice.reason,
                )
            )
        results.append(
            Notified(
                notification=notification,
                email=email,
                created=notice.dedupe_key in created or email_key in created,
            )
        )
        # A repeated key is created once: later notices with it find it made.
        created.discard(notice.dedupe_key)
        created.discard(email_key)
    SilencedNotice.objects.bulk_create(silenced, ignore_conflicts=True)
    return results


def notify(*, recipient: Any, reason: str, title: str, dedupe_key: str, **details: Any) -> Notified:
    """``notify_many`` for one notice (see ``Notice`` for the details it takes)."""
    [notified] = notify_many(
        notices=[
            Notice(
                recipient=recipient, reason=reason, title=title, dedupe_key=dedupe_key, **details
            )
        ]
    )
    return notified


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
    if contact is not None:
        body_text, body_html = with_unsubscribe_footer(
            text=body_text, html=body_html, contact_id=contact.pk
        )
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


def emails_queue_many(*, emails: list[OutgoingEmail]) -> list[EmailMessage | Exception]:
    """``email_queue`` for many emails: one SELECT for those already queued, one INSERT,
    and one delivery message after commit for all of them. An invalid address comes back
    as a ``ValidationFailed`` in its place; the others are queued."""
    return _emails_queue(emails)[0]


def _emails_queue(
    emails: list[OutgoingEmail],
) -> tuple[list[EmailMessage | Exception], set[str]]:
    """``emails_queue_many``, and the keys of the emails it wrote (not found queued)."""
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
        text, html = email.body_text, email.body_html
        if email.contact is not None:
            text, html = with_unsubscribe_footer(text=text, html=html, contact_id=email.contact.pk)
        row = EmailMessage(
            to_email=email.to_email,
            to_name=email.to_name[:200],
            subject=" ".join(email.subject.split())[:300],
            body_text=text,
            body_html=html,
            idempotency_key=email.idempotency_key,
            step_run=email.step_run,
            contact=email.contact,
            recipient=email.recipient,
            created_at=now,
            next_attempt_at=now,  # due at once: the delivery run below takes them all
        )
        fresh.append(row)
        results.append(row)
    if fresh:
        EmailMessage.objects.bulk_create(fresh)
        from apps.notifications.tasks import deliver_due_emails

        outbox.send_after_commit(deliver_due_emails, what=f"delivery of {len(fresh)} emails")
    return results, {row.idempotency_key for row in fresh}


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


def _email_build(email: EmailMessage, connection: Any = None) -> mail.EmailMultiAlternatives:
    message = mail.EmailMultiAlternatives(
        subject=email.subject,
        body=email.body_text,
        from_email=_sender(email),
        to=[formataddr((email.to_name, email.to_email))],
        headers={
            "Message-ID": email_message_id(email),
            **(unsubscribe_headers(email.contact_id) if email.contact_id else {}),
        },
        connection=connection or _mail_connection(),
    )
    if email.body_html:
        message.attach_alternative(email.body_html, "text/html")
    return message


def _sender(email: EmailMessage) -> str:
    """Customers get email from the selling company's name; staff from Afterwin's."""
    if not email.contact_id:
        return settings.DEFAULT_FROM_EMAIL
    return formataddr((settings.COMPANY_NAME, parseaddr(settings.DEFAULT_FROM_EMAIL)[1]))


def _mail_connection() -> Any:
    return mail.get_connection(timeout=settings.EMAIL_TIMEOUT or SMTP_TIMEOUT_SECONDS)


def _email_send_claimed(
    email: EmailMessage, connection: Any = None, sent: list[int] | None = None
) -> str:
    """Send an email this worker has claimed and record what happened. Returns the
    status it ends in. With ``sent``, the "sent" mark is not written here: the email's
    id is added to it for ``_emails_mark_sent`` to write with others."""
    if email.contact is not None and email.contact.unsubscribed:
        EmailMessage.objects.filter(pk=email.pk, status=Status.SENDING).update(
            status=Status.WITHDRAWN, lease_until=None, withdrawn_reason="Contact unsubscribed."
        )
        return Status.WITHDRAWN
    try:
        _email_build(email, connection).send()
    except Exception as exc:
        logger.warning("email %s failed (attempt %s)", email.pk, email.attempts, exc_info=True)
        if connection is not None:
            # The conversation may be broken; the next send opens a fresh one.
            connection.close()
        return _email_record_failure(email=email, error=f"{type(exc).__name__}: {exc}")
    logger.info("email %s sent", email.pk)
    if sent is not None:
        sent.append(email.pk)
    else:
        _emails_mark_sent([email.pk])
    return Status.SENT


def _emails_mark_sent(ids: list[int]) -> None:
    """Mark sent emails sent: one UPDATE, committed without waiting for the disk.

    A mark that is lost (the worker dies before writing it, or the database server
    crashes right after) means the email is sent again when its lease runs out: with the
    same Message-ID, so mail clients show it once."""
    if not ids:
        return
    with outbox.commit_without_flush():
        EmailMessage.objects.filter(pk__in=ids, status=Status.SENDING).update(
            status=Status.SENT, sent_at=clock.now(), lease_until=None, last_error=""
        )
    ids.clear()


def email_deliver(*, email_id: int) -> str:
    """Send one email, at most once per claim. Returns what happened.

    Must run outside a transaction: the claim commits before the SMTP conversation, and
    the outcome is written after it, so no database lock is held while the network is.
    """
    if not _email_claim(email_id, clock.now()):
        status = EmailMessage.objects.filter(pk=email_id).values_list("status", flat=True).first()
        return f"skipped: {status or 'missing'}"
    return _email_send_claimed(EmailMessage.objects.select_related("contact").get(pk=email_id))


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


def _emails_claim_due(*, now: dt.datetime, limit: int) -> list[EmailMessage]:
    """Claim up to ``limit`` emails to send: those whose worker died mid-send, those
    whose retry is due, and those queued (whose message was lost, or a batch's). SKIP
    LOCKED: two workers claim different rows. One query per status, each an ordered scan
    of the (status, next_attempt_at) index that stops at ``limit``, so a backlog of
    queued emails costs a claim no more than an empty queue does."""
    wanted = (
        Q(status=Status.SENDING, lease_until__lt=now),
        Q(status=Status.FAILED, next_attempt_at__lte=now),
        Q(status=Status.QUEUED, next_attempt_at__lte=now),
    )
    with transaction.atomic():
        ids: list[int] = []
        for where in wanted:
            ids += (
                EmailMessage.objects.select_for_update(skip_locked=True)
                .filter(where)
                .order_by("next_attempt_at", "id")
                .values_list("id", flat=True)[: limit - len(ids)]
            )
            if len(ids) >= limit:
                break
        if not ids:
            return []
        EmailMessage.objects.filter(pk__in=ids).update(
            status=Status.SENDING, lease_until=now + EMAIL_LEASE, attempts=F("attempts") + 1
        )
    return list(EmailMessage.objects.select_related("contact").filter(pk__in=ids).order_by("id"))


def _emails_release(emails: list[EmailMessage]) -> None:
    EmailMessage.objects.filter(
        pk__in=[email.pk for email in emails], status=Status.SENDING
    ).update(
        status=Status.QUEUED,
        lease_until=None,
        next_attempt_at=clock.now(),
        attempts=F("attempts") - 1,
    )


# A delivery run writes the "sent" marks of a batch together, at least this often.
MARK_SENT_EVERY = 1.0


def emails_deliver_due(*, limit: int = 100, seconds: float = 30.0) -> int:
    """Deliver due emails batch after batch (one claim per batch, one mail connection
    for all of it) until none is due or ``seconds`` have passed. Returns how many were
    sent. The "sent" marks are written together, once a batch or every
    ``MARK_SENT_EVERY`` seconds. Runs outside a transaction, like ``email_deliver``."""
    sent, deadline = 0, time.monotonic() + seconds
    connection = _mail_connection()
    marks: list[int] = []
    try:
        while time.monotonic() < deadline:
            claimed_at = marked_at = time.monotonic()
            claimed = _emails_claim_due(now=clock.now(), limit=limit)
            if not claimed:
                break
            try:
                for position, email in enumerate(claimed):
                    late = time.monotonic() - claimed_at > EMAIL_LEASE.total_seconds() / 2
                    if late or time.monotonic() > deadline:
                        # A slow mail server: give the rest back before their lease runs
                        # out (another worker would take them while this one still sends)
                        # or the task's time limit stops this one half-way.
                        _emails_release(claimed[position:])
                        break
                    sent += _email_send_claimed(email, connection, marks) == Status.SENT
                    if time.monotonic() - marked_at > MARK_SENT_EVERY:
                        _emails_mark_sent(marks)
                        marked_at = time.monotonic()
            finally:
                _emails_mark_sent(marks)
            if len(claimed) < limit:
                break  # fewer than a batch were due: none is left
    finally:
        connection.close()
    return sent


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
