"""Ownership: a rep changes, closes and re-owns only the deals they own (403 with the
reason otherwise, in the API and the admin); a sales manager acts on every deal; reps
still read every deal. Contacts are edited by whoever covers the account."""

import pytest
from django.urls import reverse

from apps.customers.models import Contact
from apps.deals.models import Deal, LossReason, Stage, StageChange
from tests.factories import (
    AccountFactory,
    ContactFactory,
    UserFactory,
    WinReasonFactory,
    closable_deal,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def ritas_deal():
    rita = UserFactory(username="rita", role="Sales Rep")
    return closable_deal(owner=rita, name="Rita's deal")


def close_payload() -> dict:
    return {"win_reason": WinReasonFactory().pk, "win_notes": "Won it."}


def test_another_rep_reads_but_may_not_change_close_or_reown(client, ritas_deal, rep):
    client.force_login(rep)
    assert client.get(f"/api/deals/{ritas_deal.pk}/").status_code == 200
    for response in (
        client.patch(
            f"/api/deals/{ritas_deal.pk}/", {"amount": "1.00"}, content_type="application/json"
        ),
        client.patch(
            f"/api/deals/{ritas_deal.pk}/", {"owner": rep.pk}, content_type="application/json"
        ),
        client.post(
            f"/api/deals/{ritas_deal.pk}/transitions/close_won/",
            close_payload(),
            content_type="application/json",
        ),
        client.post(
            f"/api/deals/{ritas_deal.pk}/transitions/close_lost/",
            {"loss_reason": LossReason.objects.create(name="Price").pk},
            content_type="application/json",
        ),
    ):
        assert response.status_code == 403
        assert "only its owner or a sales manager" in str(response.json())
    ritas_deal.refresh_from_db()
    assert (ritas_deal.stage, ritas_deal.owner.username) == (Stage.NEGOTIATION, "rita")
    assert not StageChange.objects.filter(deal=ritas_deal).exists()


def test_a_sales_manager_acts_on_every_deal(client, ritas_deal):
    manager = UserFactory(username="sam", role="Sales Manager")
    client.force_login(manager)
    response = client.post(
        f"/api/deals/{ritas_deal.pk}/transitions/close_won/",
        close_payload(),
        content_type="application/json",
    )
    assert response.status_code == 200
    ritas_deal.refresh_from_db()
    assert ritas_deal.stage == Stage.CLOSED_WON
    response = client.post(
        f"/api/deals/{ritas_deal.pk}/transitions/reopen/",
        {"reason": "Signed the wrong order form"},
        content_type="application/json",
    )
    assert response.status_code == 200


def test_the_owner_may_hand_their_deal_over(client, ritas_deal, rep):
    client.force_login(ritas_deal.owner)
    response = client.patch(
        f"/api/deals/{ritas_deal.pk}/", {"owner": rep.pk}, content_type="application/json"
    )
    assert response.status_code == 200
    assert Deal.objects.get(pk=ritas_deal.pk).owner == rep


def test_the_admin_refuses_another_reps_close_with_the_reason(client, ritas_deal, rep):
    rep.is_staff = True
    rep.save(update_fields=["is_staff"])
    client.force_login(rep)
    url = reverse("admin:deals_deal_transition", args=[ritas_deal.pk, "close_won"])
    response = client.post(url, {**close_payload(), "close_date": ""}, follow=True)
    assert "only its owner or a sales manager" in response.content.decode()
    ritas_deal.refresh_from_db()
    assert ritas_deal.stage == Stage.NEGOTIATION


def test_contacts_are_edited_by_who_covers_the_account(client, rep, csm):
    covered = AccountFactory(csm=csm)
    elsewhere = AccountFactory()
    mine = ContactFactory(account=covered)
    theirs = ContactFactory(account=elsewhere, name="Not yours")
    client.force_login(csm)
    response = client.patch(
        f"/api/contacts/{mine.pk}/", {"title": "CTO"}, content_type="application/json"
    )
    assert response.status_code == 200
    response = client.patch(
        f"/api/contacts/{theirs.pk}/", {"title": "CTO"}, content_type="application/json"
    )
    assert response.status_code == 403
    assert "You do not cover" in str(response.json())
    assert Contact.objects.get(pk=theirs.pk).title != "CTO"
    # A rep with an open deal at the account covers it.
    closable_deal(account=elsewhere, owner=rep)
    client.force_login(rep)
    response = client.patch(
        f"/api/contacts/{theirs.pk}/", {"title": "CTO"}, content_type="application/json"
    )
    assert response.status_code == 200
