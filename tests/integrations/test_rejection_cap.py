"""An address whose deliveries keep failing authentication is refused for a while, before
anything is read or stored; genuine deliveries from elsewhere go on."""

import time
import uuid

import pytest

from apps.deals.models import Deal
from apps.integrations.models import InboundRejection
from tests.integrations.conftest import connect, fixture_bytes, nothing_stored, work
from tests.integrations.test_close import KEY, ORG, PATH, sign


@pytest.fixture
def close(world):
    return connect("close", world, tenant_id=ORG, secret=KEY)


def an_address() -> str:
    """An address of the documentation range, in a /64 of its own (the counters outlive
    the test in Redis, and django-ratelimit counts an IPv6 client per /64)."""
    network = uuid.uuid4().int
    return f"2001:db8:{network & 0xFFFF:x}:{network >> 16 & 0xFFFF:x}::1"


def test_an_address_guessing_signatures_is_refused_and_others_are_not(client, close, settings):
    settings.INBOUND_REJECTION_RATE_PER_IP = "3/h"  # an hour: no window boundary mid-test
    guesser, crm = an_address(), an_address()
    while crm == guesser:
        crm = an_address()
    body = fixture_bytes("close_opportunity_won.json")
    forged = sign(body, key="00" * 32)

    statuses = [
        client.post(PATH, body, content_type="application/json", REMOTE_ADDR=guesser, **forged)
        for _ in range(4)
    ]

    assert [response.status_code for response in statuses] == [401, 401, 401, 429]
    refused = statuses[-1]
    assert refused["Retry-After"] == "60"
    assert "Too many rejected deliveries" in refused.json()["detail"]
    # The refused one was not even checked: three rejections counted, nothing stored.
    assert InboundRejection.objects.get().count == 3
    assert nothing_stored()
    # Even a good signature from that address waits out the window...
    genuine = sign(body, timestamp=str(int(time.time())))
    from_guesser = client.post(
        PATH, body, content_type="application/json", REMOTE_ADDR=guesser, **genuine
    )
    assert from_guesser.status_code == 429
    # ...while the CRM's own address is served, and its opportunity arrives.
    from_crm = client.post(PATH, body, content_type="application/json", REMOTE_ADDR=crm, **genuine)
    assert from_crm.status_code == 200
    work()
    assert Deal.objects.get().account.name == "Wayne Enterprises"


def test_genuine_deliveries_never_count_towards_the_cap(client, close, settings):
    settings.INBOUND_REJECTION_RATE_PER_IP = "2/h"
    address = an_address()
    body = fixture_bytes("close_opportunity_won.json")

    statuses = [
        client.post(
            PATH, body, content_type="application/json", REMOTE_ADDR=address, **sign(body)
        ).status_code
        for _ in range(4)
    ]

    assert statuses == [200, 200, 200, 200]


def test_an_address_capped_at_one_crm_is_still_heard_at_another(client, close, settings):
    settings.INBOUND_REJECTION_RATE_PER_IP = "1/h"
    address = an_address()
    body = fixture_bytes("close_opportunity_won.json")
    forged = sign(body, key="00" * 32)
    for expected in (401, 429):
        response = client.post(
            PATH, body, content_type="application/json", REMOTE_ADDR=address, **forged
        )
        assert response.status_code == expected

    # The same address at Pipedrive's URL: its own count, so its own refusal (401), not 429.
    response = client.post(
        "/integrations/inbound/pipedrive/",
        b"{}",
        content_type="application/json",
        REMOTE_ADDR=address,
    )
    assert response.status_code == 401
