"""Zoho CRM notifications: the channel's token checked, each id read from Zoho's API."""

import json

import pytest

from apps.deals.models import Deal, StageChange
from apps.integrations.models import InboundDelivery, InboundEvent, InboundRejection
from tests.integrations.conftest import (
    connect,
    fixture_json,
    nothing_stored,
    playbook_started,
    work,
)

PATH = "/integrations/inbound/zoho/"
TOKEN = "TOKEN_FOR_VERIFICATION_OF_1000000068002"
DEAL_1, DEAL_2 = "4150868000001234001", "4150868000001234002"


@pytest.fixture
def zoho(world, crm_api):
    connection = connect(
        "zoho",
        world,
        tenant_id="1000000068002",
        secret=TOKEN,
        api_token="1000.8cb99d0000.9be93",
        api_base_url=crm_api.url,
    )
    serve_records(crm_api)
    return connection


def serve_records(crm_api) -> None:
    """The two deals, their account and their contact, as Zoho's API gives them."""
    serve_deal(crm_api, DEAL_1)
    serve_deal(crm_api, DEAL_2)
    crm_api.answer(
        "/crm/v2/Accounts/4150868000000624001",
        (200, fixture_json("zoho_api/account_4150868000000624001.json")),
    )
    crm_api.answer(
        "/crm/v2/Contacts/4150868000000624101",
        (200, fixture_json("zoho_api/contact_4150868000000624101.json")),
    )


def serve_deal(crm_api, deal_id: str, **fields) -> None:
    found = fixture_json("zoho_api/deal_4150868000001234001.json")
    found["data"][0] |= {"id": deal_id, **fields}
    if deal_id != DEAL_1:
        found["data"][0]["Deal_Name"] = f"Stark Industries - deal {deal_id[-4:]}"
    crm_api.answer(f"/crm/v2/Deals/{deal_id}", (200, found))


def notification(ids=(DEAL_1,), **changes) -> dict:
    payload = fixture_json("zoho_deals_update.json")
    payload["ids"] = list(ids)
    return payload | changes


def deliver(client, payload):
    return client.post(PATH, json.dumps(payload), content_type="application/json")


def test_a_notification_for_two_deals_reads_and_closes_both(client, zoho, crm_api, world):
    response = deliver(client, notification(ids=(DEAL_1, DEAL_2)))

    assert response.status_code == 200
    assert crm_api.requests == []
    stored = InboundDelivery.objects.get()
    assert TOKEN not in stored.body  # the body as received, but for its token
    assert json.loads(stored.body)["ids"] == [DEAL_1, DEAL_2]
    assert all(TOKEN not in json.dumps(e.payload) for e in InboundEvent.objects.all())
    assert work() == ["processed", "processed"]
    deals = Deal.objects.order_by("pk")
    assert [d.stage for d in deals] == ["closed_won", "closed_won"]
    assert deals[0].account.name == "Stark Industries"
    assert deals[0].account.domain == "stark.example"
    assert deals[0].primary_contact.email == "pepper@stark.example"
    assert deals[0].owner == world.rep and deals[0].amount == 30000
    assert deals[0].stage_changes.get().source == StageChange.Source.WEBHOOK
    assert all(
        h["Authorization"] == "Zoho-oauthtoken 1000.8cb99d0000.9be93" for _, h in crm_api.requests
    )
    assert playbook_started(deals[0])


def test_a_single_deal_notification(client, zoho):
    deliver(client, notification())
    assert work() == ["processed"]
    assert Deal.objects.get().stage == "closed_won"


@pytest.mark.parametrize(
    ("changes", "status", "reason"),
    [
        ({"token": "TOKEN_GUESSED"}, 401, "bad signature"),
        ({"token": None}, 401, "missing signature"),
        ({"channel_id": "1000000099999"}, 403, "unknown tenant"),
    ],
)
def test_a_wrong_token_or_channel_is_refused_and_not_stored(client, zoho, changes, status, reason):
    assert deliver(client, notification(**changes)).status_code == status
    assert nothing_stored()
    assert InboundRejection.objects.get().reason == reason


def test_the_same_notification_twice_closes_once(client, zoho):
    deliver(client, notification())
    deliver(client, notification())
    work()
    assert StageChange.objects.count() == 1
    assert InboundEvent.objects.count() == 1


def test_a_contact_without_email_blocks_until_zoho_notifies_the_contact_change(
    client, zoho, crm_api
):
    contact = fixture_json("zoho_api/contact_4150868000000624101.json")
    contact["data"][0]["Email"] = None
    crm_api.answer("/crm/v2/Contacts/4150868000000624101", (200, contact))
    deliver(client, notification())
    assert work() == ["blocked"]
    assert "no email address" in InboundEvent.objects.get().blockers["primary_contact"][0]

    crm_api.answer(
        "/crm/v2/Contacts/4150868000000624101",
        (200, fixture_json("zoho_api/contact_4150868000000624101.json")),
    )
    deliver(
        client,
        notification(
            ids=("4150868000000624101",),
            module="Contacts",
            server_time=1796212900000,
            resource_uri="https://www.zohoapis.com/crm/v2/Contacts",
        ),
    )
    work()
    assert Deal.objects.get().stage == "closed_won"


def test_lost_then_reopened_in_zoho(client, zoho, crm_api, world):
    serve_deal(crm_api, DEAL_1, Stage="Closed Lost", Reason_For_Loss__s="Price")
    deliver(client, notification())
    work()
    deal = Deal.objects.get()
    assert deal.stage == "closed_lost" and deal.loss_reason == world.loss

    serve_deal(crm_api, DEAL_1, Stage="Negotiation/Review")
    deliver(client, notification(server_time=1796213000000))
    work()
    deal.refresh_from_db()
    assert deal.stage == "negotiation"


def test_stages_named_on_the_connection_mean_won(client, zoho, crm_api):
    zoho.won_stages = "Signed\nClosed Won"
    zoho.save()
    serve_deal(crm_api, DEAL_1, Stage="Signed")
    deliver(client, notification())
    work()
    assert Deal.objects.get().stage == "closed_won"


def test_a_leads_notification_is_recorded_as_ignored(client, zoho):
    deliver(client, notification(ids=("4150868000009990001",), module="Leads"))
    assert work() == ["ignored"]
    assert "Leads" in InboundEvent.objects.get().reason


def test_the_channel_token_is_neither_stored_nor_shown(client, zoho, admin_user):
    from django.urls import reverse

    deliver(client, notification())
    client.force_login(admin_user)
    delivery = InboundDelivery.objects.get()
    page = client.get(reverse("admin:integrations_inbounddelivery_change", args=[delivery.pk]))
    shown = page.content.decode()
    assert page.status_code == 200
    assert "4150868000001234001" in shown and TOKEN not in shown
    # Nor is it kept: the token is checked on arrival, not stored.
    assert TOKEN not in delivery.body and "4150868000001234001" in delivery.body
