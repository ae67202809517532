"""The account page shows everything about the customer the viewer may see: lifecycle,
tier, people, local time, ARR and renewal, health, contacts, deals with why they were won
or lost, playbooks with their timelines, tasks, emails, survey answers, usage and notes."""

import datetime as dt

import pytest
from django.urls import reverse

from apps.core import clock
from apps.growth.models import UsageSnapshot
from tests.factories import ProductFactory, UserFactory
from tests.workspace.conftest import NOW

pytestmark = pytest.mark.django_db


def page(client, user, account):
    client.force_login(user)
    with clock.frozen(NOW + dt.timedelta(days=1)):
        response = client.get(reverse("workspace:account_detail", args=[account.pk]))
    assert response.status_code == 200
    return response


def test_the_summary_and_every_section_an_admin_sees(client, customer, admin_user):
    UsageSnapshot.objects.create(
        account=customer.account,
        product=ProductFactory(name="Seats"),
        measured_at=NOW,
        licensed_units=100,
        used_units=91,
    )

    response = page(client, admin_user, customer.account)

    body = response.content.decode()
    assert "Onboarding" in body  # lifecycle, moved by the close
    assert "Mid-market" in body
    assert customer.csm.get_full_name() in body and customer.rep.get_full_name() in body
    assert "Asia/Tokyo" in body and "Sat 21 Nov 2026, 21:00" in body  # NOW + 1 day in Tokyo
    assert response.context["renewal_date"] == customer.deal.close_date.replace(
        year=customer.deal.close_date.year + 1
    )
    assert "health-band--yellow" in body and "Yellow · 64" in body
    assert "Hank Scorpio" in body
    assert "Globex platform" in body and "Won: " in body and "Chose us for the API." in body
    enrollments = response.context["enrollments"]
    # The playbook's one step made the kickoff task, so the enrollment has finished.
    assert enrollments["running"] == []
    assert [e["enrollment"].playbook.name for e in enrollments["finished"]] == [
        "New customer onboarding"
    ]
    assert "Kickoff call" in body
    assert [t.title for t in response.context["tasks"]["done"]] == ["Kickoff call with Globex"]
    assert [t.title for t in response.context["tasks"]["open"]] == ["Renewal pricing review"]
    assert "Welcome to Afterwin" in body and "Sent" in body
    assert "Setup is slow" in body
    assert "91 / 100" in body
    assert "Their CTO prefers email." in body


def test_a_csm_sees_only_the_tasks_of_their_queues_and_no_emails(client, customer):
    response = page(client, customer.csm, customer.account)

    assert [t.title for t in response.context["tasks"]["done"]] == ["Kickoff call with Globex"]
    assert response.context["tasks"]["open"] == []
    assert "Renewal pricing review" not in response.content.decode()
    # CSMs do not read the email outbox: the section is left out, not empty.
    assert response.context["emails"] is None
    assert "Welcome to Afterwin" not in response.content.decode()


def test_a_rep_sees_only_tasks_assigned_to_them(client, customer):
    rep = UserFactory(role="Sales Rep")
    customer.hidden_task.assignee = rep
    customer.hidden_task.save(update_fields=["assignee"])

    response = page(client, rep, customer.account)

    assert [t.title for t in response.context["tasks"]["open"]] == ["Renewal pricing review"]
    assert response.context["tasks"]["done"] == []


def test_a_deal_lost_shows_its_loss_reason(client, customer, cs_manager):
    from tests.factories import DealFactory, LossReasonFactory

    DealFactory(
        account=customer.account,
        name="Globex analytics",
        stage="closed_lost",
        loss_reason=LossReasonFactory(name="Went with a competitor"),
    )

    body = page(client, cs_manager, customer.account).content.decode()

    assert "Lost: Went with a competitor" in body
