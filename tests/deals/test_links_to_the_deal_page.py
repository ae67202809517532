"""Notifications about a deal, and the task page, open the deal's page in the web UI, not
the admin's form."""

import pytest
from django.urls import reverse

from apps.core import outbox
from apps.notifications.models import Notification
from apps.notifications.services import absolute_url
from tests.deals.test_close_won import close_won
from tests.factories import (
    AccountFactory,
    QueueFactory,
    TaskFactory,
    closable_deal,
    onboarding_playbook,
)
from tests.growth.test_referrals import asked, form, page  # noqa: F401  (asked: a fixture)

pytestmark = pytest.mark.django_db

HANDOFF = {
    "key": "handoff",
    "name": "Hand-off call reminder",
    "kind": "reminder",
    "config": {"to": "deal_owner", "title": "Book the hand-off call with {{ account.name }}"},
}


def test_a_playbook_reminder_opens_the_deal_page(client, rep, csm):
    onboarding_playbook(extra_steps=[HANDOFF])
    deal = closable_deal(owner=rep, account=AccountFactory(csm=csm))
    close_won(deal, actor=rep)
    outbox.drain()

    notice = Notification.objects.get(recipient=rep)
    assert notice.url == reverse("deals:deal_detail", args=[deal.pk])

    client.force_login(rep)
    opened = client.post(reverse("notifications:open", args=[notice.pk]))
    assert opened["Location"] == notice.url
    assert client.get(opened["Location"]).status_code == 200


def test_a_referral_notice_opens_the_referred_deal_page(client, asked, rep):  # noqa: F811
    client.post(page(asked), form())

    notice = Notification.objects.get(reason="referral_received", recipient=rep)
    deal = asked.referrals.get().deal
    assert notice.url == absolute_url(reverse("deals:deal_detail", args=[deal.pk]))


def test_the_task_page_links_its_deal(client, csm):
    deal = closable_deal(name="Globex platform")
    task = TaskFactory(queue=QueueFactory(members=[csm]), deal=deal, account=deal.account)
    client.force_login(csm)

    page = client.get(reverse("queues:task_detail", args=[task.pk])).content.decode()

    assert f'<a href="{reverse("deals:deal_detail", args=[deal.pk])}">Globex platform</a>' in page
