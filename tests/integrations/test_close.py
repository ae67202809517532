"""Close webhooks: close-sig-hash over the timestamp and the raw body."""

import hashlib
import hmac
import json
import time
from decimal import Decimal

import pytest

from apps.deals.models import Deal, StageChange
from apps.integrations.models import InboundEvent, InboundRejection
from tests.integrations.conftest import (
    connect,
    fixture_bytes,
    fixture_json,
    nothing_stored,
    playbook_started,
    work,
)

PATH = "/integrations/inbound/close/"
KEY = "8d1f0a9c3b2e4d5f6a7b8c9d0e1f2a3b4c5d6e7f8091a2b3c4d5e6f708192a3b"
ORG = "orga_XbVPx5fFbKlYTz9PW5Ih1XDhViV10YihIaEgMEb6fVW"


@pytest.fixture
def close(world):
    return connect("close", world, tenant_id=ORG, secret=KEY)


def sign(body: bytes, *, key: str = KEY, timestamp: str | None = None) -> dict:
    """Close's scheme, written independently: hex HMAC-SHA256, keyed with the hex-decoded
    signature key, over the timestamp followed by the body."""
    timestamp = timestamp or str(int(time.time()))
    digest = hmac.new(bytes.fromhex(key), timestamp.encode() + body, hashlib.sha256).hexdigest()
    return {"HTTP_CLOSE_SIG_HASH": digest, "HTTP_CLOSE_SIG_TIMESTAMP": timestamp}


def deliver(client, body: bytes, headers: dict | None = None):
    headers = sign(body) if headers is None else headers
    return client.post(PATH, body, content_type="application/json", **headers)


def as_body(payload) -> bytes:
    return json.dumps(payload).encode()


def contact_with_email(client) -> None:
    assert deliver(client, fixture_bytes("close_contact_updated.json")).status_code == 200


def test_a_won_opportunity_closes_won_with_the_value_in_cents_converted(client, close, world):
    response = deliver(client, fixture_bytes("close_opportunity_won.json"))

    assert response.status_code == 200
    work()
    deal = Deal.objects.get()
    assert deal.account.name == "Wayne Enterprises"
    assert deal.amount == 48000 and deal.currency == "USD"
    # Close's opportunity names its contact, not their email: blocked until the contact
    # event brings it.
    assert deal.stage == "new"
    contact_with_email(client)
    work()
    deal.refresh_from_db()
    assert deal.stage == "closed_won"
    assert deal.primary_contact.email == "jones@wayne.example"
    assert deal.stage_changes.get().source == StageChange.Source.WEBHOOK
    assert playbook_started(deal)


def test_the_contact_first_then_the_won_opportunity(client, close):
    # Contacts of a lead Afterwin does not know yet wait for their account.
    contact_with_email(client)
    assert work() == ["blocked"]
    lead = fixture_json("close_contact_updated.json")
    lead["event"] |= {
        "id": "ev_lead0001",
        "object_type": "lead",
        "action": "created",
        "object_id": lead["event"]["lead_id"],
        "data": {
            "id": lead["event"]["lead_id"],
            "display_name": "Wayne Enterprises",
            "url": "https://wayne.example",
        },
    }
    deliver(client, as_body(lead))
    assert work()[:2] == ["processed", "processed"]  # the lead, then the waiting contact

    deliver(client, fixture_bytes("close_opportunity_won.json"))
    assert work() == ["processed"]
    deal = Deal.objects.get()
    assert deal.stage == "closed_won" and deal.account.domain == "wayne.example"


def test_several_webhooks_in_a_row_each_close_their_opportunity(client, close):
    contact_with_email(client)
    for number in range(3):
        payload = fixture_json("close_opportunity_won.json")
        payload["event"]["id"] = f"ev_batch{number}"
        payload["event"]["data"]["id"] = f"oppo_batch{number}"
        payload["event"]["object_id"] = f"oppo_batch{number}"
        deliver(client, as_body(payload))
    work()
    assert Deal.objects.filter(stage="closed_won").count() == 3


@pytest.mark.parametrize(
    ("case", "status", "reason"),
    [
        ("missing", 401, "missing signature"),
        ("tampered", 401, "bad signature"),
        ("other key", 401, "bad signature"),
        ("stale", 401, "stale or invalid timestamp"),
    ],
)
def test_unproven_requests_are_refused_counted_and_not_stored(client, close, case, status, reason):
    body = fixture_bytes("close_opportunity_won.json")
    headers = {
        "missing": {},
        "tampered": sign(body),
        "other key": sign(body, key="00" * 32),
        "stale": sign(body, timestamp=str(int(time.time()) - 301)),
    }[case]
    if case == "tampered":
        body = body.replace(b"4800000", b"4800001")
    response = deliver(client, body, headers)
    assert response.status_code == status
    assert nothing_stored()
    counted = InboundRejection.objects.get()
    assert (counted.reason, counted.connection) == (reason, close)  # the organization is known


def test_an_unknown_organization_is_refused_with_403_and_not_stored(client, close):
    body = fixture_bytes("close_opportunity_won.json").replace(ORG.encode(), b"orga_unknown")
    assert deliver(client, body).status_code == 403
    assert nothing_stored()


def test_the_same_webhook_twice_closes_once(client, close):
    contact_with_email(client)
    body = fixture_bytes("close_opportunity_won.json")
    deliver(client, body)
    deliver(client, body)
    work()
    assert StageChange.objects.count() == 1


def test_lost_then_reopened_in_close(client, close, world):
    contact_with_email(client)
    lost = fixture_json("close_opportunity_won.json")
    lost["event"]["data"] |= {"status_type": "lost", "status_label": "Lost"}
    deliver(client, as_body(lost))
    work()
    deal = Deal.objects.get()
    assert deal.stage == "closed_lost"

    reopened = fixture_json("close_opportunity_won.json")
    reopened["event"]["id"] = "ev_reopen0001"
    reopened["event"]["previous_data"]["status_type"] = "lost"
    reopened["event"]["data"] |= {
        "status_type": "active",
        "status_label": "Active",
        "date_updated": "2026-11-30T14:00:00.000000+00:00",
    }
    deliver(client, as_body(reopened))
    work()
    deal.refresh_from_db()
    assert deal.stage == "negotiation"


def test_a_task_event_is_recorded_as_ignored(client, close):
    payload = fixture_json("close_contact_updated.json")
    payload["event"] |= {"id": "ev_task0001", "object_type": "task.lead", "action": "created"}
    deliver(client, as_body(payload))
    assert work() == ["ignored"]
    assert "task.lead" in InboundEvent.objects.get().reason


@pytest.mark.parametrize(
    ("period", "value", "amount"),
    [("monthly", 400000, 48000), ("annual", 4800000, 48000), ("one_time", 1250050, "12500.50")],
)
def test_the_deal_amount_is_the_first_year_value_of_the_opportunity(
    client, close, period, value, amount
):
    payload = fixture_json("close_opportunity_won.json")
    payload["event"]["data"] |= {"value_period": period, "value": value}
    assert deliver(client, as_body(payload)).status_code == 200
    work()
    assert Deal.objects.get().amount == Decimal(str(amount))
