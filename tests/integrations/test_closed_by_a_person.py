"""A deal a person closed in Afterwin is theirs: the CRM changes only a close it made
itself (won, lost or open in the CRM alike), and only won deals get the default line."""

import json
from decimal import Decimal

import pytest

from apps.deals.models import Deal, StageChange
from apps.deals.services import deal_close_lost, deal_close_won, deal_reopen
from apps.integrations.models import InboundEvent
from tests.factories import UserFactory
from tests.integrations.conftest import connect, fixture_json, work
from tests.integrations.test_pipedrive import basic, organization_and_person

PATH = "/integrations/inbound/pipedrive/"
API = StageChange.Source.API


@pytest.fixture
def pipedrive(world):
    return connect(
        "pipedrive",
        world,
        tenant_id="12882925",
        basic_auth_username="afterwin",
        secret="s3cret-passw0rd",
    )


@pytest.fixture
def manager(db):
    return UserFactory(username="mia", first_name="Mia", last_name="Moreau", role="Sales Manager")


def send(client, status: str, at: str, key: str) -> None:
    payload = fixture_json("pipedrive_v2_deal_won.json")
    payload["data"] |= {"status": status, "update_time": at}
    if status == "lost":
        payload["data"] |= {"lost_reason": "Price", "won_time": None, "lost_time": at}
    if status == "open":
        payload["data"] |= {"won_time": None, "close_time": None}
    payload["meta"]["id"] = f"a2b3c4d5-0000-4000-8000-{key:0>12}"
    response = client.post(
        PATH, json.dumps(payload), content_type="application/json", HTTP_AUTHORIZATION=basic()
    )
    assert response.status_code == 200


def last_event() -> InboundEvent:
    return InboundEvent.objects.filter(kind="change.deal (v2)").latest("id")


def test_a_lost_delivery_leaves_a_deal_a_manager_reopened_and_won(
    client, pipedrive, world, manager
):
    organization_and_person(client)
    send(client, "lost", "2026-11-29T11:00:00Z", "1")
    work()
    deal = Deal.objects.get()
    assert deal.stage == "closed_lost"

    deal_reopen(deal=deal, actor=manager, source=API, reason="They came back")
    deal.line_items.create(product=world.product, quantity=1, unit_price=Decimal("18000"))
    deal_close_won(deal=deal, actor=manager, source=API, win_reason=world.win, win_notes="Signed")

    send(client, "lost", "2026-11-30T09:00:00Z", "2")
    assert work() == ["ignored"]

    deal.refresh_from_db()
    assert deal.stage == "closed_won" and deal.win_notes == "Signed"
    assert last_event().reason.startswith(
        "“Initech - Analytics seats” was closed by Mia Moreau in Afterwin on "
    )
    assert last_event().reason.endswith("; the CRM does not change it.")
    assert deal.stage_changes.count() == 3  # lost (CRM), reopen and won (Mia): nothing more


def test_a_won_delivery_leaves_a_deal_a_person_closed_lost(client, pipedrive, world, manager):
    organization_and_person(client)
    send(client, "won", "2026-11-29T11:00:00Z", "1")
    work()
    deal = Deal.objects.get()
    deal_reopen(deal=deal, actor=manager, source=API, reason="Customer backed out")
    deal_close_lost(deal=deal, actor=manager, source=API, loss_reason=world.loss)

    send(client, "won", "2026-11-30T09:00:00Z", "2")
    assert work() == ["ignored"]
    deal.refresh_from_db()
    assert deal.stage == "closed_lost"
    assert "closed by Mia Moreau in Afterwin" in last_event().reason


def test_an_open_delivery_leaves_a_deal_a_person_closed_and_says_so(
    client, pipedrive, world, manager
):
    organization_and_person(client)
    send(client, "lost", "2026-11-29T11:00:00Z", "1")
    work()
    deal = Deal.objects.get()
    deal_reopen(deal=deal, actor=manager, source=API, reason="Retry")
    deal_close_lost(deal=deal, actor=manager, source=API, loss_reason=world.loss)

    send(client, "open", "2026-11-30T09:00:00Z", "2")
    assert work() == ["ignored"]
    assert Deal.objects.get().stage == "closed_lost"
    assert "closed by Mia Moreau in Afterwin" in last_event().reason


def test_the_crm_still_changes_its_own_close(client, pipedrive, world):
    organization_and_person(client)
    send(client, "lost", "2026-11-29T11:00:00Z", "1")
    send(client, "won", "2026-11-30T09:00:00Z", "2")
    assert work() == ["processed", "processed"]
    deal = Deal.objects.get()
    assert deal.stage == "closed_won"
    assert [c.transition for c in deal.stage_changes.all()] == [
        "close_lost",
        "reopen",
        "close_won",
    ]


def test_a_lost_crm_deal_gets_no_default_product_line(client, pipedrive, world):
    organization_and_person(client)
    send(client, "lost", "2026-11-29T11:00:00Z", "1")
    work()
    deal = Deal.objects.get()
    assert deal.stage == "closed_lost"
    assert not deal.line_items.exists()

    send(client, "won", "2026-11-30T09:00:00Z", "2")  # won after all: now it gets the line
    work()
    deal.refresh_from_db()
    assert deal.stage == "closed_won"
    assert [(i.product, i.unit_price) for i in deal.line_items.all()] == [
        (world.product, Decimal("18000.00"))
    ]


def test_a_won_crm_deal_then_lost_in_the_crm_loses_its_default_line(client, pipedrive, world):
    organization_and_person(client)
    send(client, "won", "2026-11-29T11:00:00Z", "1")
    work()
    deal = Deal.objects.get()
    assert deal.line_items.count() == 1

    send(client, "lost", "2026-11-30T09:00:00Z", "2")
    work()
    deal.refresh_from_db()
    assert deal.stage == "closed_lost"
    assert not deal.line_items.exists()
