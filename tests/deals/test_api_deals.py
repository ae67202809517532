import datetime as dt
from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from apps.deals.models import Deal, Stage, StageChange
from tests.factories import (
    AccountFactory,
    ContactFactory,
    DealFactory,
    DealLineItemFactory,
    ProductFactory,
    closable_deal,
)

pytestmark = pytest.mark.django_db


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user=user)
    return client


def names(response) -> list[str]:
    assert response.status_code == 200, response.json()
    return sorted(d["name"] for d in response.json()["results"])


def test_list_filters_by_stage_kind_account_owner_and_pipeline(csm, rep):
    acme = AccountFactory(name="Acme")
    DealFactory(name="Acme renewal", account=acme, kind="renewal", stage="proposal", owner=rep)
    DealFactory(name="Acme expansion", account=acme, kind="expansion", stage="new")
    DealFactory(name="Globex new", kind="new_business", stage="proposal", pipeline="partners")
    client = client_for(csm)

    assert names(client.get("/api/deals/", {"stage": "proposal"})) == ["Acme renewal", "Globex new"]
    assert names(client.get("/api/deals/", {"stage": ["new", "proposal"], "kind": "renewal"})) == [
        "Acme renewal"
    ]
    assert names(client.get("/api/deals/", {"account": acme.pk})) == [
        "Acme expansion",
        "Acme renewal",
    ]
    assert names(client.get("/api/deals/", {"owner": rep.pk})) == ["Acme renewal"]
    assert names(client.get("/api/deals/", {"pipeline": "partners"})) == ["Globex new"]


def test_list_filters_by_close_date_range_and_searches_by_name(csm):
    DealFactory(name="Platform October", close_date=dt.date(2026, 10, 30))
    DealFactory(name="Platform November", close_date=dt.date(2026, 11, 15))
    DealFactory(name="Seats November", close_date=dt.date(2026, 11, 20))
    DealFactory(name="Platform December", close_date=dt.date(2026, 12, 1))
    client = client_for(csm)

    in_november = {"close_date_after": "2026-11-01", "close_date_before": "2026-11-30"}
    assert names(client.get("/api/deals/", in_november)) == ["Platform November", "Seats November"]
    assert names(client.get("/api/deals/", {**in_november, "search": "platform"})) == [
        "Platform November"
    ]


def test_bad_filter_value_is_a_400_naming_the_filter(csm):
    response = client_for(csm).get("/api/deals/", {"stage": "won", "close_date_after": "soon"})

    assert response.status_code == 400
    assert {"stage", "close_date"} <= set(response.json())


def test_list_is_paginated(csm):
    for n in range(7):
        DealFactory(name=f"Deal {n:02d}")
    client = client_for(csm)

    first = client.get("/api/deals/", {"page_size": 5, "ordering": "name"}).json()
    second = client.get(first["next"]).json()

    assert first["count"] == 7
    assert [d["name"] for d in first["results"]] == [f"Deal {n:02d}" for n in range(5)]
    assert [d["name"] for d in second["results"]] == ["Deal 05", "Deal 06"]
    assert second["next"] is None


def test_list_runs_a_fixed_number_of_queries(csm, rep, django_assert_max_num_queries):
    for _ in range(30):
        account = AccountFactory()
        DealFactory(account=account, owner=rep, primary_contact=ContactFactory(account=account))
    client = client_for(csm)

    with django_assert_max_num_queries(5):
        response = client.get("/api/deals/", {"page_size": 30})

    assert len(response.json()["results"]) == 30
    assert all(d["owner_username"] and d["account_name"] for d in response.json()["results"])


def test_detail_shows_line_items_and_the_transitions_the_user_may_run(rep, csm):
    deal = DealFactory(stage="negotiation")
    DealLineItemFactory(
        deal=deal, product=ProductFactory(sku="SEATS-100"), quantity=3, unit_price=Decimal("10")
    )

    as_rep = client_for(rep).get(f"/api/deals/{deal.pk}/").json()
    as_csm = client_for(csm).get(f"/api/deals/{deal.pk}/").json()

    assert [(i["product_sku"], i["quantity"], i["total"]) for i in as_rep["line_items"]] == [
        ("SEATS-100", 3, "30.00")
    ]
    assert {t["name"] for t in as_rep["available_transitions"]} == {
        "move_to_new",
        "qualify",
        "propose",
        "close_won",
        "close_lost",
    }
    assert as_csm["available_transitions"] == []


def test_detail_of_a_closed_deal_offers_reopen_only_to_managers(rep, cs_manager):
    deal = DealFactory(stage="closed_won")

    as_rep = client_for(rep).get(f"/api/deals/{deal.pk}/").json()
    as_manager = client_for(cs_manager).get(f"/api/deals/{deal.pk}/").json()

    assert as_rep["available_transitions"] == []
    assert as_manager["available_transitions"] == [
        {"name": "reopen", "label": "Reopen", "target": "negotiation"}
    ]


def test_missing_deal_is_404(csm):
    assert client_for(csm).get("/api/deals/987654/").status_code == 404


def test_rep_creates_a_deal_which_starts_as_new(rep):
    account = AccountFactory()
    contact = ContactFactory(account=account)

    response = client_for(rep).post(
        "/api/deals/",
        {
            "name": "Acme platform",
            "account": account.pk,
            "owner": rep.pk,
            "amount": "12000.00",
            "close_date": "2026-12-15",
            "primary_contact": contact.pk,
        },
        format="json",
    )

    assert response.status_code == 201, response.json()
    deal = Deal.objects.get(pk=response.json()["id"])
    assert (deal.stage, deal.amount, deal.owner) == (Stage.NEW, Decimal("12000.00"), rep)
    assert {t["name"] for t in response.json()["available_transitions"]} >= {"qualify"}


def test_stage_cannot_be_set_by_create_or_update(rep):
    account = AccountFactory()
    client = client_for(rep)

    created = client.post(
        "/api/deals/",
        {"name": "Sneaky", "account": account.pk, "stage": "closed_won"},
        format="json",
    )
    updated = client.patch(
        f"/api/deals/{created.json()['id']}/", {"stage": "closed_won"}, format="json"
    )

    assert created.status_code == 201 and updated.status_code == 200
    assert updated.json()["stage"] == "new"
    assert Deal.objects.get().stage == Stage.NEW
    assert not StageChange.objects.exists()


def test_create_with_wrong_types_is_refused_field_by_field(rep):
    response = client_for(rep).post(
        "/api/deals/",
        {
            "name": "Acme platform",
            "account": "acme",
            "amount": "lots",
            "close_date": "next quarter",
            "kind": "barter",
        },
        format="json",
    )

    assert response.status_code == 400
    assert set(response.json()) == {"account", "amount", "close_date", "kind"}
    assert not Deal.objects.exists()


def test_primary_contact_must_belong_to_the_deal_account(rep):
    account = AccountFactory(name="Acme")
    stranger = ContactFactory(name="Sam Stranger")

    response = client_for(rep).post(
        "/api/deals/",
        {"name": "Acme platform", "account": account.pk, "primary_contact": stranger.pk},
        format="json",
    )

    assert response.status_code == 400
    assert response.json() == {"primary_contact": ["Sam Stranger is not a contact of Acme."]}
    assert not Deal.objects.exists()


def test_update_with_negative_amount_changes_nothing(rep):
    deal = DealFactory(owner=rep, name="Acme platform", amount=Decimal("100.00"))

    response = client_for(rep).patch(
        f"/api/deals/{deal.pk}/", {"amount": "-5", "name": "Renamed"}, format="json"
    )

    assert response.status_code == 400
    assert list(response.json()) == ["amount"]
    deal.refresh_from_db()
    assert (deal.name, deal.amount) == ("Acme platform", Decimal("100.00"))


def test_put_replaces_the_editable_fields(rep):
    deal = DealFactory(owner=rep, name="Old", pipeline="sales", amount=Decimal("1.00"))

    response = client_for(rep).put(
        f"/api/deals/{deal.pk}/",
        {"name": "New", "account": deal.account_id, "pipeline": "partners", "amount": "2.50"},
        format="json",
    )

    assert response.status_code == 200
    deal.refresh_from_db()
    assert (deal.name, deal.pipeline, deal.amount) == ("New", "partners", Decimal("2.50"))


def test_csm_cannot_create_or_edit_deals(csm):
    deal = DealFactory(name="Acme platform")
    client = client_for(csm)

    created = client.post(
        "/api/deals/", {"name": "Nope", "account": deal.account_id}, format="json"
    )
    edited = client.patch(f"/api/deals/{deal.pk}/", {"name": "Renamed"}, format="json")

    assert (created.status_code, edited.status_code) == (403, 403)
    assert list(Deal.objects.values_list("name", flat=True)) == ["Acme platform"]


def test_win_details_are_read_only(rep):
    deal = closable_deal(owner=rep)

    response = client_for(rep).patch(
        f"/api/deals/{deal.pk}/", {"win_notes": "edited", "closed_at": "2026-01-01T00:00Z"}
    )

    assert response.status_code == 200
    deal.refresh_from_db()
    assert (deal.win_notes, deal.closed_at) == ("", None)
