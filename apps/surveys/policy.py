"""The contact policy: who may be asked now, across every playbook.

One contact at most once per ``contact_days``; one account at most ``account_max``
times per ``account_days``; nobody at an account with an open escalation. Each check is
one query for the whole batch of candidates.
"""

import datetime as dt
from collections import Counter
from collections.abc import Iterable

from django.db.models import Count

from apps.customers.models import Contact
from apps.queues.models import Task
from apps.surveys.models import ContactPolicy, Invitation

COUNTED = (Invitation.Status.SENT, Invitation.Status.ANSWERED)


class Governor:
    """Decides, for candidates of one batch, who may be invited now. Invitations it lets
    through count against the limits of the ones after them in the same batch."""

    def __init__(self, *, contacts: Iterable[Contact], now: dt.datetime) -> None:
        self.policy = ContactPolicy.current()
        contacts = list(contacts)
        contact_ids = {contact.pk for contact in contacts}
        account_ids = {contact.account_id for contact in contacts}
        contact_since = now - dt.timedelta(days=self.policy.contact_days)
        account_since = now - dt.timedelta(days=self.policy.account_days)
        self.recent_contacts = set(
            Invitation.objects.filter(
                contact_id__in=contact_ids, status__in=COUNTED, created_at__gte=contact_since
            ).values_list("contact_id", flat=True)
        )
        self.account_counts = Counter(
            dict(
                Invitation.objects.filter(
                    account_id__in=account_ids, status__in=COUNTED, created_at__gte=account_since
                )
                .values_list("account_id")
                .annotate(n=Count("id"))
                .values_list("account_id", "n")
            )
        )
        self.escalated: set[int] = set()
        if self.policy.quiet_during_escalation:
            self.escalated = set(
                Task.objects.filter(
                    account_id__in=account_ids,
                    queue__slug=self.policy.escalation_queue,
                    status__in=Task.OPEN_STATUSES,
                ).values_list("account_id", flat=True)
            )

    def refusal(self, contact: Contact) -> str | None:
        """Why ``contact`` may not be invited now, or None (and the invitation counts)."""
        policy = self.policy
        if contact.unsubscribed:
            return "the contact unsubscribed"
        if not contact.email:
            return "the contact has no email address"
        if contact.account_id in self.escalated:
            return "quiet period: the account has an open escalation"
        if contact.pk in self.recent_contacts:
            return f"the contact was surveyed in the last {policy.contact_days} days"
        if self.account_counts[contact.account_id] >= policy.account_max:
            return (
                f"the account had {policy.account_max} surveys in the last "
                f"{policy.account_days} days"
            )
        self.recent_contacts.add(contact.pk)
        self.account_counts[contact.account_id] += 1
        return None
