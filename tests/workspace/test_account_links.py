"""Account names across the product lead to the account page."""

import pytest
from django.urls import NoReverseMatch, reverse

from tests.factories import (
    AccountFactory,
    DealFactory,
    NotificationFactory,
    QueueFactory,
    TaskFactory,
)

pytestmark = pytest.mark.django_db


def account_link(account) -> str:
    return f'href="{reverse("workspace:account_detail", args=[account.pk])}"'


@pytest.fixture
def task(csm):
    queue = QueueFactory(name="Onboarding", slug="onboarding")
    queue.members.add(csm)
    return TaskFactory(account=AccountFactory(name="Wayne Enterprises"), queue=queue, assignee=csm)


def test_the_task_page_links_to_the_account(client, csm, task):
    client.force_login(csm)

    body = client.get(reverse("queues:task_detail", args=[task.pk])).content.decode()

    assert account_link(task.account) in body


@pytest.mark.parametrize("url_name", ["queues:task_list", "queues:my_work"])
def test_task_lists_link_to_the_account(client, csm, task, url_name):
    client.force_login(csm)

    body = client.get(reverse(url_name)).content.decode()

    assert account_link(task.account) in body


def test_notifications_naming_an_account_link_to_it(client, csm, task):
    NotificationFactory(recipient=csm, account=task.account, title="Task overdue")
    client.force_login(csm)

    body = client.get(reverse("notifications:list")).content.decode()

    assert account_link(task.account) in body


def test_the_account_page_links_back_to_its_tasks(client, csm, task):
    client.force_login(csm)

    body = client.get(reverse("workspace:account_detail", args=[task.account_id])).content.decode()

    assert reverse("queues:task_detail", args=[task.pk]) in body


def test_deal_names_lead_to_the_deal_page_or_for_staff_its_admin_page(client, admin_user, csm):
    deal = DealFactory(name="Wayne platform", account=AccountFactory(name="Wayne"))
    url = reverse("workspace:account_detail", args=[deal.account_id])
    try:
        page, staff_only = reverse("deals:deal_detail", args=[deal.pk]), False
    except NoReverseMatch:  # no deal page in the deals app: its admin page, for staff
        page, staff_only = reverse("admin:deals_deal_change", args=[deal.pk]), True

    client.force_login(admin_user)
    assert f'href="{page}"' in client.get(url).content.decode()
    client.force_login(csm)
    assert (f'href="{page}"' in client.get(url).content.decode()) is not staff_only
