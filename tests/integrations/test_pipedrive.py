"""Pipedrive webhooks v2 and v1, with the Basic auth set on the webhook."""

import base64
import json

import pytest

from apps.deals.models import Deal, StageChange
from apps.integrations.models import InboundEvent, InboundRejection
from tests.integrations.conftest import (
    connect,
    fixture_json,
    nothing_stored,
    playbook_started,
    work,
)

PATH = "/integrations/inbound/pipedrive/"


@pytest.fixture
def pipedrive(world):
    return connect(
        "pipedrive",
        world,
        tenant_id="12882925",
        basic_auth_username="afterwin",
        secret="s3cret-passw0rd",
    )


def basic(user="afterwin", password="s3cret-passw0rd") -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def deliver(client, payload, auth: str | None = None):
    headers = {"HTTP_AUTHORIZATION": auth if auth is not None else basic()}
    if auth == "":
        headers = {}
    return client.post(PATH, json.dumps(payload), content_type="application/json", **headers)


def organization_and_person(client) -> None:
    assert deliver(client, fixture_json("pipedrive_v2_organization.json")).status_code == 200
    assert deliver(client, fixture_json("pipedrive_v2_person.json")).status_code == 200
    work()


def test_a_v2_deal_won_closes_won_and_starts_the_playbook(client, pipedrive, world):
    organization_and_person(client)

    response = deliver(client, fixture_json("pipedrive_v2_deal_won.json"))

    assert response.status_code == 200
    assert work() == ["processed"]
    deal = Deal.objects.get()
    assert (deal.name, deal.stage, deal.amount, deal.currency) == (
        "Initech - Analytics seats",
        "closed_won",
        18000,
        "EUR",
    )
    assert deal.account.name == "Initech"
    assert deal.primary_contact.email == "peter.gibbons@initech.example"
    assert deal.owner == world.rep  # no mapping: the connection's default owner
    assert deal.stage_changes.get().source == StageChange.Source.WEBHOOK
    assert deal.win_notes.endswith("(status “won”)")  # Pipedrive's status, not a stage
    assert InboundEvent.objects.get(kind="change.deal (v2)").event_key == (
        "bb1d3b3e-5b1c-4b6e-9a52-0c4b7f4a0c11"
    )
    assert playbook_started(deal)


def test_a_v1_updated_deal_won_takes_the_organization_and_person_names_it_carries(
    client, pipedrive
):
    response = deliver(client, fixture_json("pipedrive_v1_deal_won.json"))

    assert response.status_code == 200
    assert work() == ["blocked"]  # v1 carries the person's name, not their email
    event = InboundEvent.objects.get()
    assert "Alice Wong has no email address" in event.blockers["primary_contact"][0]
    deal = Deal.objects.get()
    assert deal.account.name == "Umbrella Corporation"

    person = fixture_json("pipedrive_v2_person.json")
    person["data"] |= {
        "id": 4,
        "name": "Alice Wong",
        "org_id": 7,
        "emails": [{"label": "work", "value": "alice@umbrella.example", "primary": True}],
    }
    person["meta"] |= {"id": "e1f2a3b4-0000-4000-8000-000000000004", "entity_id": "4"}
    deliver(client, person)
    work()
    deal.refresh_from_db()
    assert deal.stage == "closed_won" and deal.primary_contact.email == "alice@umbrella.example"


def test_several_webhooks_in_a_row_each_close_their_deal(client, pipedrive):
    organization_and_person(client)
    for number in (31, 33, 34):
        payload = fixture_json("pipedrive_v2_deal_won.json")
        payload["data"] |= {"id": number, "title": f"Initech deal {number}"}
        payload["meta"] |= {"id": f"evt-{number}", "entity_id": str(number)}
        assert deliver(client, payload).status_code == 200
    assert work() == ["processed"] * 3
    assert Deal.objects.filter(stage="closed_won").count() == 3


@pytest.mark.parametrize(
    ("auth", "status", "reason"),
    [
        ("", 401, "missing signature"),
        ("wrong password", 401, "bad signature"),
        ("wrong user", 401, "bad signature"),
        ("Bearer abc", 401, "missing signature"),
    ],
)
def test_requests_without_the_webhook_credentials_are_refused_and_not_stored(
    client, pipedrive, auth, status, reason
):
    auth = {
        "wrong password": basic(password="guess"),
        "wrong user": basic(user="someone"),
    }.get(auth, auth)
    response = deliver(client, fixture_json("pipedrive_v2_deal_won.json"), auth=auth)
    assert response.status_code == status
    assert response["WWW-Authenticate"].startswith("Basic")
    assert nothing_stored()
    assert InboundRejection.objects.get().reason == reason


def test_an_unknown_company_is_refused_with_403_and_not_stored(client, pipedrive):
    payload = fixture_json("pipedrive_v2_deal_won.json")
    payload["meta"]["company_id"] = "777"
    assert deliver(client, payload).status_code == 403
    assert nothing_stored()
    assert InboundRejection.objects.get().reason == "unknown tenant"


def test_the_same_webhook_twice_closes_the_deal_once(client, pipedrive):
    organization_and_person(client)
    payload = fixture_json("pipedrive_v2_deal_won.json")
    deliver(client, payload)
    deliver(client, payload)
    work()
    assert StageChange.objects.count() == 1
    assert InboundEvent.objects.filter(kind="change.deal (v2)").count() == 1


def test_a_won_deal_before_its_organization_is_blocked_then_closed_when_it_arrives(
    client, pipedrive
):
    deliver(client, fixture_json("pipedrive_v2_deal_won.json"))
    assert work() == ["blocked"]
    assert "organization" in InboundEvent.objects.get().blockers["account"][0]

    organization_and_person(client)

    assert Deal.objects.get().stage == "closed_won"


def test_lost_then_reopened_in_pipedrive(client, pipedrive, world):
    organization_and_person(client)
    lost = fixture_json("pipedrive_v2_deal_won.json")
    lost["data"] |= {
        "status": "lost",
        "lost_reason": "Price",
        "won_time": None,
        "lost_time": "2026-11-29T11:02:10Z",
    }
    deliver(client, lost)
    work()
    deal = Deal.objects.get()
    assert deal.stage == "closed_lost" and deal.loss_reason == world.loss

    reopened = fixture_json("pipedrive_v2_deal_won.json")
    reopened["data"] |= {"status": "open", "update_time": "2026-11-30T08:00:00Z"}
    reopened["previous"] = {"status": "lost"}
    reopened["meta"]["id"] = "a2b3c4d5-0000-4000-8000-00000000000f"
    deliver(client, reopened)
    work()
    deal.refresh_from_db()
    assert deal.stage == "negotiation"


def test_an_activity_webhook_is_recorded_as_ignored(client, pipedrive):
    payload = fixture_json("pipedrive_v2_person.json")
    payload["meta"] |= {"entity": "activity", "id": "c0ffee00-0000-4000-8000-000000000001"}
    deliver(client, payload)
    assert work() == ["ignored"]
    assert "activity" in InboundEvent.objects.get().reason


def test_a_crm_owner_listed_on_the_connection_owns_the_deal(client, pipedrive):
    from apps.integrations.models import CrmOwnerMapping
    from tests.factories import UserFactory

    sam = UserFactory(username="sam", role="Sales Rep")
    CrmOwnerMapping.objects.create(connection=pipedrive, crm_owner="18487521", user=sam)
    organization_and_person(client)
    deliver(client, fixture_json("pipedrive_v2_deal_won.json"))
    work()
    assert Deal.objects.get().owner == sam
