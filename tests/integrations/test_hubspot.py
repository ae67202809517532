"""HubSpot: signed batches of events, the deal read back from HubSpot's API."""

import base64
import hashlib
import hmac
import json
import time

import pytest
from django.conf import settings

from apps.deals.models import Deal, StageChange
from apps.integrations.models import (
    CrmOwnerMapping,
    InboundDelivery,
    InboundEvent,
    InboundRejection,
)
from apps.integrations.vendors import hubspot as hubspot_adapter
from tests.factories import UserFactory
from tests.integrations.conftest import (
    connect,
    fixture_bytes,
    fixture_json,
    nothing_stored,
    playbook_started,
    variant,
    work,
)

PATH = "/integrations/inbound/hubspot/"
SECRET = "9b2f1c4e-7d3a-4f0e-a1b2-c3d4e5f60718"


@pytest.fixture
def hubspot(world, crm_api):
    connection = connect(
        "hubspot",
        world,
        tenant_id="62515",
        secret=SECRET,
        api_token="pat-na1-0000",
        api_base_url=crm_api.url,
    )
    serve_deal(crm_api, "1001")
    serve_deal(crm_api, "1002")
    return connection


def serve_deal(crm_api, deal_id: str, **properties) -> None:
    deal = fixture_json("hubspot_api/deal_1001.json")
    deal["id"] = deal_id
    deal["properties"] |= {"hs_object_id": deal_id, **properties}
    if deal_id != "1001":
        deal["properties"]["dealname"] = f"Acme Corp - deal {deal_id}"
    crm_api.answer(f"/crm/v3/objects/deals/{deal_id}", (200, deal))
    for path, name in (
        ("/crm/v3/objects/companies/5001", "company_5001"),
        ("/crm/v3/objects/contacts/7001", "contact_7001"),
        ("/crm/v3/objects/line_items/9001", "line_item_9001"),
        ("/crm/v3/owners/52550153", "owner_52550153"),
    ):
        crm_api.routes.setdefault(path, [(200, fixture_json(f"hubspot_api/{name}.json"))])


def sign(body: bytes, *, url: str = "", secret: str = SECRET, timestamp: str | None = None):
    """HubSpot's v3 scheme, written here independently of the product's code; the URL is
    the public one (``AFTERWIN_SITE_URL``), as HubSpot calls it."""
    url = url or settings.SITE_URL + PATH
    timestamp = timestamp or str(int(time.time() * 1000))
    message = b"POST" + url.encode() + body + timestamp.encode()
    digest = hmac.new(secret.encode(), message, hashlib.sha256).digest()
    return {
        "HTTP_X_HUBSPOT_SIGNATURE_V3": base64.b64encode(digest).decode(),
        "HTTP_X_HUBSPOT_REQUEST_TIMESTAMP": timestamp,
        "HTTP_X_HUBSPOT_SIGNATURE_VERSION": "v3",
    }


def deliver(client, body: bytes, **headers):
    headers = headers or sign(body)
    return client.post(PATH, body, content_type="application/json", **headers)


def one_event(**changes) -> bytes:
    return json.dumps([variant(fixture_json("hubspot_batch.json")[0], **changes)]).encode()


def test_a_batch_is_acknowledged_before_hubspot_is_read_then_both_deals_close_won(
    client, hubspot, crm_api, world
):
    body = fixture_bytes("hubspot_batch.json")

    response = deliver(client, body)

    assert response.status_code == 200
    assert crm_api.requests == []  # nothing is read from HubSpot while HubSpot waits
    delivery = InboundDelivery.objects.get()
    assert delivery.body == body.decode() and delivery.events_new == 2
    assert work() == ["processed", "processed"]
    deals = Deal.objects.order_by("pk")
    assert [d.name for d in deals] == ["Acme Corp - Platform annual", "Acme Corp - deal 1002"]
    for deal in deals:
        assert deal.stage == "closed_won"
        assert deal.stage_changes.get().source == StageChange.Source.WEBHOOK
        assert deal.owner == world.rep  # HubSpot's owner, matched by email
        assert deal.amount == 24000 and deal.currency == "EUR"
        assert deal.primary_contact.email == "jane.doe@acme.example"
        assert [(i.product.sku, i.quantity, i.unit_price) for i in deal.line_items.all()] == [
            ("PLAT-ANNUAL", 2, 12000)
        ]
        assert deal.win_reason == world.win
    assert deals[0].account == deals[1].account  # one company, one account
    assert deals[0].account.domain == "acme.example"
    assert all(h["Authorization"] == "Bearer pat-na1-0000" for _, h in crm_api.requests)
    assert playbook_started(deals[0]) and playbook_started(deals[1])


def test_a_single_event_closes_its_deal_and_starts_the_playbook(client, hubspot):
    assert deliver(client, one_event()).status_code == 200
    work()
    deal = Deal.objects.get()
    assert deal.stage == "closed_won"
    assert playbook_started(deal)


def test_the_same_delivery_twice_closes_the_deal_once(client, hubspot):
    body = fixture_bytes("hubspot_batch.json")
    assert deliver(client, body).status_code == 200
    work()
    assert deliver(client, body).status_code == 200
    work()

    assert StageChange.objects.filter(to_stage="closed_won").count() == 2  # two deals, once each
    assert InboundEvent.objects.count() == 2
    assert InboundDelivery.objects.order_by("pk").last().events_repeated == 2


@pytest.mark.parametrize(
    ("headers", "status", "reason"),
    [
        ({}, 401, "missing signature"),
        ("tampered", 401, "bad signature"),
        ("wrong secret", 401, "bad signature"),
        ("stale", 401, "stale or invalid timestamp"),
    ],
)
def test_unproven_requests_are_refused_counted_and_not_stored(
    client, hubspot, headers, status, reason
):
    body = fixture_bytes("hubspot_batch.json")
    if headers == "tampered":
        headers = sign(body)
        body = body.replace(b"closedwon", b"closedlost", 1)
    elif headers == "wrong secret":
        headers = sign(body, secret="not-the-secret")
    elif headers == "stale":
        headers = sign(body, timestamp=str(int((time.time() - 301) * 1000)))

    response = client.post(PATH, body, content_type="application/json", **headers)

    assert response.status_code == status
    assert nothing_stored()
    counted = InboundRejection.objects.get(reason=reason)
    assert counted.count == 1 and counted.vendor == "hubspot"
    assert counted.connection == hubspot  # the portal is known, whatever the reason


def test_an_unknown_portal_is_refused_with_403_and_not_stored(client, hubspot):
    body = one_event(portalId=99999)
    response = deliver(client, body)
    assert response.status_code == 403
    assert nothing_stored()
    assert InboundRejection.objects.get().reason == "unknown tenant"


def test_behind_a_proxy_the_signature_is_checked_against_the_public_url(client, hubspot, settings):
    settings.SITE_URL = "https://afterwin.northwind.example"
    body = one_event()
    public = "https://afterwin.northwind.example/integrations/inbound/hubspot/"

    proxied = sign(body, url="http://testserver" + PATH)  # the request as the proxy passes it
    assert deliver(client, body, **proxied).status_code == 401
    assert deliver(client, body, **sign(body, url=public)).status_code == 200


def test_a_won_deal_missing_a_contact_email_is_blocked_then_closed_when_hubspot_has_it(
    client, hubspot, crm_api
):
    no_email = fixture_json("hubspot_api/contact_7001.json")
    no_email["properties"]["email"] = None
    crm_api.answer("/crm/v3/objects/contacts/7001", (200, no_email))

    deliver(client, one_event())
    assert work() == ["blocked"]
    event = InboundEvent.objects.get()
    assert "has no email address" in " ".join(event.blockers["primary_contact"])
    assert Deal.objects.get().stage == "new"  # taken in, not closed

    # The email is added in HubSpot: its contact.propertyChange unblocks the close.
    crm_api.answer(
        "/crm/v3/objects/contacts/7001", (200, fixture_json("hubspot_api/contact_7001.json"))
    )
    contact_change = one_event(
        eventId=1836471400,
        subscriptionType="contact.propertyChange",
        objectId=7001,
        propertyName="email",
        propertyValue="jane.doe@acme.example",
    )
    deliver(client, contact_change)
    work()

    deal = Deal.objects.get()
    assert deal.stage == "closed_won"
    assert InboundEvent.objects.get(pk=event.pk).state == "processed"
    assert playbook_started(deal)


def test_lost_then_reopened_in_hubspot(client, hubspot, crm_api, world):
    serve_deal(crm_api, "1001", dealstage="closedlost", closed_lost_reason="Price")
    deliver(client, one_event(propertyValue="closedlost"))
    work()
    deal = Deal.objects.get()
    assert deal.stage == "closed_lost" and deal.loss_reason == world.loss

    serve_deal(crm_api, "1001", dealstage="contractsent")
    deliver(client, one_event(eventId=1836471500, propertyValue="contractsent"))
    work()
    deal.refresh_from_db()
    assert deal.stage == "negotiation"
    assert [c.transition for c in deal.stage_changes.all()] == ["close_lost", "reopen"]


def test_a_company_event_and_an_open_unknown_deal_are_recorded_as_ignored(client, hubspot, crm_api):
    deliver(client, fixture_bytes("hubspot_company_created.json"))
    serve_deal(crm_api, "1001", dealstage="appointmentscheduled")
    deliver(client, one_event(propertyValue="appointmentscheduled"))

    assert work() == ["ignored", "ignored"]
    reasons = list(InboundEvent.objects.order_by("pk").values_list("reason", flat=True))
    assert "A HubSpot company changed" in reasons[0]
    assert "neither won nor lost" in reasons[1]
    assert not Deal.objects.exists()


def test_hubspot_api_errors_are_retried_with_backoff(client, hubspot, crm_api):
    deal = fixture_json("hubspot_api/deal_1001.json")
    crm_api.answer("/crm/v3/objects/deals/1001", (503, {"message": "busy"}), (200, deal))

    deliver(client, one_event())
    assert work() == ["processed"]
    assert crm_api.paths().count("/crm/v3/objects/deals/1001") == 2


def test_an_api_that_keeps_failing_fails_the_event_with_the_reason_and_no_deal(
    client, hubspot, crm_api
):
    crm_api.answer("/crm/v3/objects/deals/1001", (503, {"message": "busy"}))

    deliver(client, one_event())
    assert work() == ["failed"]
    event = InboundEvent.objects.get()
    assert "HubSpot deal 1001: the CRM answered 503 (tried 3 times)" in event.reason
    assert event.next_attempt_at is not None
    assert not Deal.objects.exists()


def test_a_full_batch_of_100_events_is_stored_in_one_request_and_processed_once_each(
    client, hubspot, crm_api
):
    template = fixture_json("hubspot_batch.json")[0]
    events = [
        variant(template, eventId=2_000_000 + n, objectId=3000 + n, propertyName="amount")
        for n in range(100)
    ]
    for n in range(100):
        serve_deal(crm_api, str(3000 + n))

    response = deliver(client, json.dumps(events).encode())

    assert response.status_code == 200
    assert InboundDelivery.objects.get().events_new == 100
    assert crm_api.requests == []
    assert work() == ["processed"] * 100
    assert Deal.objects.filter(stage="closed_won").count() == 100


def test_the_deal_says_it_came_from_hubspot(client, hubspot):
    from apps.deals.origins import origins_for

    deliver(client, one_event())
    work()
    deal = Deal.objects.get()
    (origin,) = origins_for([deal.pk])[deal.pk]
    assert origin.text == "HubSpot deal 1001 (Northwind hubspot)"


def test_a_line_item_without_a_known_sku_is_matched_by_its_product_name(client, hubspot, crm_api):
    from tests.factories import ProductFactory

    item = fixture_json("hubspot_api/line_item_9001.json")
    item["properties"]["hs_sku"] = ""
    item["properties"]["name"] = "Onboarding package"
    crm_api.answer("/crm/v3/objects/line_items/9001", (200, item))
    package = ProductFactory(sku="ONB-1", name="Onboarding Package")
    ProductFactory(sku="TRAIN-1", name="Training day")
    ProductFactory(sku="TRAIN-2", name="Training day")

    deliver(client, one_event())
    work()

    deal = Deal.objects.get()
    assert deal.stage == "closed_won"
    assert [i.product for i in deal.line_items.all()] == [package]


def test_a_line_item_whose_name_two_products_share_is_not_guessed(client, hubspot, crm_api):
    from tests.factories import ProductFactory

    item = fixture_json("hubspot_api/line_item_9001.json")
    item["properties"]["hs_sku"] = ""
    item["properties"]["name"] = "Training day"
    crm_api.answer("/crm/v3/objects/line_items/9001", (200, item))
    ProductFactory(sku="TRAIN-1", name="Training day")
    ProductFactory(sku="TRAIN-2", name="Training day")

    deliver(client, one_event())

    assert work() == ["blocked"]
    assert "“Training day” has no SKU, and no one Afterwin product has its name" in " ".join(
        InboundEvent.objects.get().blockers["line_items"]
    )
    assert not Deal.objects.get().line_items.exists()


def test_a_line_item_no_product_matches_blocks_until_the_product_exists_and_it_is_replayed(
    client, hubspot, crm_api
):
    from apps.integrations.processing import events_replay
    from tests.factories import ProductFactory

    item = fixture_json("hubspot_api/line_item_9001.json")
    item["properties"]["hs_sku"] = "ONBOARD-PKG"
    crm_api.answer("/crm/v3/objects/line_items/9001", (200, item))
    deliver(client, one_event())
    assert work() == ["blocked"]
    event = InboundEvent.objects.get()
    assert "SKU “ONBOARD-PKG”, which no Afterwin product has" in " ".join(
        event.blockers["line_items"]
    )
    assert Deal.objects.get().stage == "new"

    ProductFactory(sku="ONBOARD-PKG")
    events_replay(event_ids=[event.pk])
    work()
    deal = Deal.objects.get()
    assert deal.stage == "closed_won"
    assert [i.product.sku for i in deal.line_items.all()] == ["ONBOARD-PKG"]


def test_two_events_sharing_an_event_id_are_both_kept_but_a_retry_of_one_is_not(client, hubspot):
    first = fixture_json("hubspot_batch.json")[0]
    # HubSpot does not promise a unique eventId: another subscription's event may reuse it.
    other = variant(first, subscriptionId=2841106, objectId=1002, occurredAt=1796121601000)
    retry = variant(first, attemptNumber=1)
    for batch in ([first], [other], [retry]):
        assert deliver(client, json.dumps(batch).encode()).status_code == 200
    work()

    assert InboundEvent.objects.count() == 2
    assert InboundDelivery.objects.order_by("pk").last().events_repeated == 1
    assert sorted(Deal.objects.values_list("name", flat=True)) == [
        "Acme Corp - Platform annual",
        "Acme Corp - deal 1002",
    ]


def test_an_event_stored_under_its_bare_event_id_is_not_taken_twice(client, hubspot):
    deliver(client, one_event())
    # As an earlier release stored it: the key was the eventId alone.
    InboundEvent.objects.update(event_key="1836471215")
    assert deliver(client, one_event(attemptNumber=2)).status_code == 200

    assert InboundEvent.objects.count() == 1
    assert InboundDelivery.objects.order_by("pk").last().events_repeated == 1


@pytest.mark.parametrize("status", [404, 403])
def test_an_owner_hubspot_will_not_show_falls_back_to_the_mapping_and_the_deal_closes(
    client, hubspot, crm_api, world, status
):
    # 404: the owner was deactivated; 403: the token lacks the owners scope.
    crm_api.answer("/crm/v3/owners/52550153", (status, {"message": "no"}))
    manager = UserFactory(username="mona", email="mona@northwind.test", role="Sales Manager")
    CrmOwnerMapping.objects.create(connection=hubspot, crm_owner="52550153", user=manager)

    deliver(client, one_event())
    assert work() == ["processed"]

    deal = Deal.objects.get()
    assert deal.stage == "closed_won" and deal.owner == manager
    snapshot = hubspot_adapter.read(hubspot, InboundEvent.objects.get())
    assert snapshot.owner_email == ""
    assert f"HubSpot owner 52550153 could not be read ({status}" in snapshot.notes[0]
    assert InboundEvent.objects.get().result["notes"] == snapshot.notes  # shown in the log


def test_an_owner_without_a_mapping_falls_back_to_the_default_owner(
    client, hubspot, crm_api, world
):
    crm_api.answer("/crm/v3/owners/52550153", (404, {"message": "not found"}))
    hubspot.default_owner = UserFactory(username="dora", role="Sales Rep")
    hubspot.save()

    deliver(client, one_event())
    assert work() == ["processed"]
    assert Deal.objects.get().owner == hubspot.default_owner


def test_other_owner_errors_still_fail_the_event_to_be_retried(client, hubspot, crm_api):
    crm_api.answer("/crm/v3/owners/52550153", (503, {"message": "busy"}))

    deliver(client, one_event())
    assert work() == ["failed"]
    assert "HubSpot owner 52550153: the CRM answered 503" in InboundEvent.objects.get().reason
    assert not Deal.objects.exists()
