"""Salesforce sends each OpportunityLineItem in its own outbound message, in any order
relative to the Opportunity: a line item that comes first waits for its deal, and a
connection that says its line items come apart holds a won deal a few minutes for them."""

import datetime as dt
from decimal import Decimal

import pytest

from apps.core import clock
from apps.deals.models import Deal
from apps.integrations.models import InboundEvent
from apps.integrations.processing import LINE_ITEM_WAIT, events_process_due
from apps.integrations.services import connection_update
from tests.factories import ProductFactory
from tests.integrations.conftest import connect, fixture_bytes, work
from tests.integrations.test_salesforce import KEY, ORG_18, deliver, known_account_and_contact

NOW = dt.datetime(2026, 11, 27, 16, 21, tzinfo=dt.UTC)
OPPORTUNITY = "0065e00000B1dW2AAJ"


@pytest.fixture
def salesforce(world):
    return connect("salesforce", world, tenant_id=ORG_18, secret=KEY)


@pytest.fixture
def seats(db):
    return ProductFactory(sku="SEATS-10", list_price=Decimal("500.00"))


def line_item(number: int, sku: str, quantity: int, price: str) -> bytes:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"
  xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
 <soapenv:Body>
  <notifications xmlns="http://soap.sforce.com/2005/09/outbound">
   <OrganizationId>{ORG_18}</OrganizationId>
   <ActionId>04k5e000000CaRlAAK</ActionId>
   <Notification>
    <Id>04l5e00000Gx8L{number:0>2}AAJ</Id>
    <sObject xsi:type="sf:OpportunityLineItem" xmlns:sf="urn:sobject.enterprise.soap.sforce.com">
     <sf:Id>00k5e00000Ln{number:0>2}AAJ</sf:Id>
     <sf:OpportunityId>{OPPORTUNITY}</sf:OpportunityId>
     <sf:ProductCode>{sku}</sf:ProductCode>
     <sf:Quantity>{quantity}.0</sf:Quantity>
     <sf:UnitPrice>{price}</sf:UnitPrice>
    </sObject>
   </Notification>
  </notifications>
 </soapenv:Body>
</soapenv:Envelope>""".encode()


def lines(deal) -> list[tuple[str, int, Decimal]]:
    return sorted((i.product.sku, i.quantity, i.unit_price) for i in deal.line_items.all())


def test_a_line_item_before_its_opportunity_waits_and_joins_the_won_deal(client, salesforce, world):
    deliver(client, line_item(1, "PLAT-ANNUAL", 2, "15000.0"))
    assert work() == ["blocked"]
    waiting = InboundEvent.objects.get()
    assert waiting.blockers["deal"][0].startswith(
        f"The line item belongs to Salesforce deal {OPPORTUNITY}, which Afterwin does not"
    )

    known_account_and_contact(client)
    deliver(client, fixture_bytes("salesforce_opportunity_won.xml"))
    work()

    deal = Deal.objects.get()
    assert deal.stage == "closed_won"
    assert lines(deal) == [("PLAT-ANNUAL", 2, Decimal("15000.00"))]  # not the default line
    waiting.refresh_from_db()
    assert waiting.state == "processed" and waiting.result["deal_id"] == deal.pk


def test_a_won_deal_waits_for_line_items_sent_after_it_then_closes_with_all(
    client, salesforce, world, seats
):
    connection_update(connection=salesforce, line_items_separate=True)
    with clock.frozen(NOW) as now:
        known_account_and_contact(client)
        deliver(client, fixture_bytes("salesforce_opportunity_won.xml"))
        assert work() == ["blocked"]
        held = InboundEvent.objects.get(object_type="Opportunity")
        assert held.reason == "Waiting for the deal's line items."
        assert held.next_attempt_at == NOW + LINE_ITEM_WAIT

        deliver(client, line_item(1, "PLAT-ANNUAL", 1, "30000.0"))
        deliver(client, line_item(2, "SEATS-10", 12, "500.0"))
        work()
        deal = Deal.objects.get()
        assert deal.stage != "closed_won"  # still inside the wait

        now.advance(LINE_ITEM_WAIT)
        events_process_due()

    deal.refresh_from_db()
    assert deal.stage == "closed_won"
    assert lines(deal) == [("PLAT-ANNUAL", 1, Decimal("30000.00")), ("SEATS-10", 12, 500)]
    held.refresh_from_db()
    assert held.state == "processed"


def test_a_won_deal_whose_line_items_never_come_closes_with_the_default_line(
    client, salesforce, world
):
    connection_update(connection=salesforce, line_items_separate=True)
    with clock.frozen(NOW) as now:
        known_account_and_contact(client)
        deliver(client, fixture_bytes("salesforce_opportunity_won.xml"))
        assert work() == ["blocked"]
        now.advance(LINE_ITEM_WAIT - dt.timedelta(seconds=1))
        assert events_process_due() == 0

        now.advance(dt.timedelta(seconds=1))
        events_process_due()

    deal = Deal.objects.get()
    assert deal.stage == "closed_won"
    assert lines(deal) == [("PLAT-ANNUAL", 1, Decimal("36000.00"))]


def test_without_separate_line_items_a_won_deal_closes_at_once(client, salesforce, world):
    known_account_and_contact(client)
    deliver(client, fixture_bytes("salesforce_opportunity_won.xml"))
    assert work() == ["processed"]
    assert Deal.objects.get().stage == "closed_won"
