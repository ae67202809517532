"""Creating deals and editing their details through the services: a deal starts as new,
every problem is named by field, a stage changed meanwhile is a conflict, and the API and
admin go the same way."""

from decimal import Decimal

import pytest
from django.urls import reverse

from apps.core.errors import Conflict, NotPermitted, ValidationFailed
from apps.deals.models import Deal, Stage
from apps.deals.services import deal_create, deal_move, deal_update
from tests.factories import AccountFactory, ContactFactory, DealFactory

pytestmark = pytest.mark.django_db


def test_a_new_deal_starts_as_new(rep):
    account = AccountFactory(name="Acme")

    deal = deal_create(actor=rep, account=account, name="Acme platform", amount=Decimal("900"))

    deal.refresh_from_db()
    assert (deal.stage, deal.amount, deal.account) == (Stage.NEW, Decimal("900.00"), account)


def test_deal_update_refuses_bad_input_naming_every_field_and_saves_nothing(rep):
    deal = DealFactory(owner=rep, name="Acme platform", account=AccountFactory(name="Acme"))
    stranger = ContactFactory(name="Sam Stranger")

    with pytest.raises(ValidationFailed) as refused:
        deal_update(
            deal=deal, actor=rep, name="Renamed", amount=Decimal("-5"), primary_contact=stranger
        )

    assert set(refused.value.errors) == {"amount", "primary_contact"}
    assert refused.value.errors["primary_contact"] == ["Sam Stranger is not a contact of Acme."]
    stored = Deal.objects.get(pk=deal.pk)
    assert (stored.name, stored.amount, stored.primary_contact) == ("Acme platform", None, None)


def test_an_edit_made_on_a_deal_whose_stage_just_changed_is_a_conflict(rep):
    deal = DealFactory(owner=rep, name="Acme platform", stage=Stage.NEGOTIATION)
    deal_move(deal=Deal.objects.get(pk=deal.pk), name="propose", actor=rep, source="ui")

    with pytest.raises(Conflict):
        deal_update(deal=deal, actor=rep, name="Renamed")

    assert Deal.objects.get(pk=deal.pk).name == "Acme platform"


def test_someone_who_may_not_change_deals_is_refused(csm):
    deal = DealFactory(name="Acme platform")

    with pytest.raises(NotPermitted):
        deal_update(deal=deal, actor=csm, name="Renamed")


def test_two_people_editing_different_fields_keep_both_changes(rep):
    deal = DealFactory(owner=rep, name="Acme platform", pipeline="partners")
    first, second = Deal.objects.get(pk=deal.pk), Deal.objects.get(pk=deal.pk)

    deal_update(deal=first, actor=rep, name="Acme platform, 3 years")
    deal_update(deal=second, actor=rep, amount=Decimal("1200.00"))

    stored = Deal.objects.get(pk=deal.pk)
    assert (stored.name, stored.amount, stored.pipeline) == (
        "Acme platform, 3 years",
        Decimal("1200.00"),
        "partners",
    )


def admin_form(deal: Deal, **changes) -> dict:
    return {
        "name": deal.name,
        "account": deal.account_id,
        "owner": deal.owner_id or "",
        "kind": deal.kind,
        "pipeline": deal.pipeline,
        "amount": deal.amount or "",
        "currency": deal.currency,
        "term_months": deal.term_months,
        "close_date": "",
        "primary_contact": deal.primary_contact_id or "",
        "line_items-TOTAL_FORMS": "0",
        "line_items-INITIAL_FORMS": "0",
        "line_items-MIN_NUM_FORMS": "0",
        "line_items-MAX_NUM_FORMS": "1000",
        **changes,
    }


def test_admin_shows_a_refused_edit_next_to_the_field_and_saves_nothing(client, admin_user):
    deal = DealFactory(name="Acme platform", account=AccountFactory(name="Acme"))
    stranger = ContactFactory(name="Sam Stranger")
    client.force_login(admin_user)

    response = client.post(
        reverse("admin:deals_deal_change", args=[deal.pk]),
        admin_form(deal, name="Renamed", primary_contact=stranger.pk),
    )

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert errors["primary_contact"] == ["Sam Stranger is not a contact of Acme."]
    assert Deal.objects.get(pk=deal.pk).name == "Acme platform"


def test_admin_adds_a_deal_which_starts_as_new(client, admin_user):
    account = AccountFactory(name="Acme")
    client.force_login(admin_user)
    form = admin_form(Deal(account=account), name="Acme platform", amount="500")

    response = client.post(reverse("admin:deals_deal_add"), form)

    assert response.status_code == 302
    deal = Deal.objects.get()
    assert (deal.name, deal.stage, deal.amount) == ("Acme platform", Stage.NEW, Decimal("500.00"))
