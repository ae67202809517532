"""Salesforce Outbound Messages: SOAP notifications to a URL holding the connection's key,
the organization id and the sending network checked, the SOAP Ack (or a Fault) returned."""

from xml.etree import ElementTree

import pytest

from apps.deals.models import Deal, StageChange
from apps.integrations.models import CrmConnection, InboundEvent, InboundRejection
from apps.integrations.services import connection_update
from tests.integrations.conftest import (
    connect,
    fixture_bytes,
    nothing_stored,
    playbook_started,
    work,
)

PATH = "/integrations/inbound/salesforce/"
ORG_18 = "00D5e000000KQ2eEAG"
KEY = "k7Qm2xV9pLr4Tz8Wn3Yb6Hc1Jd5Fg0Se"


@pytest.fixture
def salesforce(world):
    return connect("salesforce", world, tenant_id=ORG_18, secret=KEY)


def deliver(client, body: bytes, *, key: str | None = KEY, **extra):
    url = PATH if key is None else f"{PATH}?key={key}"
    return client.post(
        url, body, content_type="text/xml; charset=utf-8", HTTP_SOAPACTION='""', **extra
    )


def opportunity(**fields) -> bytes:
    body = fixture_bytes("salesforce_opportunity_won.xml").decode()
    for name, value in fields.items():
        start = body.index(f"<sf:{name}>")
        end = body.index(f"</sf:{name}>") + len(f"</sf:{name}>")
        body = body[:start] + f"<sf:{name}>{value}</sf:{name}>" + body[end:]
    return body.encode()


def known_account_and_contact(client) -> None:
    assert deliver(client, fixture_bytes("salesforce_account.xml")).status_code == 200
    assert deliver(client, fixture_bytes("salesforce_contact.xml")).status_code == 200
    assert work()[:2] == ["processed", "processed"]


def acked(response) -> bool:
    root = ElementTree.fromstring(response.content)
    ack = root.find(
        "{http://schemas.xmlsoap.org/soap/envelope/}Body/"
        "{http://soap.sforce.com/2005/09/outbound}notificationsResponse/"
        "{http://soap.sforce.com/2005/09/outbound}Ack"
    )
    return ack is not None and ack.text == "true"


def test_a_won_opportunity_is_acknowledged_with_the_soap_ack_and_closes_won(
    client, salesforce, world
):
    known_account_and_contact(client)
    response = deliver(client, fixture_bytes("salesforce_opportunity_won.xml"))

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/xml")
    assert acked(response)
    work()
    deal = Deal.objects.get()
    assert (deal.name, deal.stage, deal.amount) == (
        "Globex - Platform rollout",
        "closed_won",
        36000,
    )
    assert deal.account.name == "Globex Corporation" and deal.account.domain == "globex.example"
    assert deal.primary_contact.email == "hank.scorpio@globex.example"
    # Salesforce sent no line items: one of the connection's product at the amount.
    assert [(i.product, i.unit_price) for i in deal.line_items.all()] == [(world.product, 36000)]
    assert deal.stage_changes.get().source == StageChange.Source.WEBHOOK
    assert playbook_started(deal)


def test_a_message_with_two_notifications_closes_both(client, salesforce):
    known_account_and_contact(client)
    body = fixture_bytes("salesforce_opportunity_won.xml").decode()
    start = body.index("<Notification>")
    end = body.index("</Notification>") + len("</Notification>")
    second = (
        body[start:end]
        .replace("04l5e00000Gx7QzAAJ", "04l5e00000Gx7Q9AAJ")
        .replace("0065e00000B1dW2AAJ", "0065e00000B1dW3AAJ")
        .replace("Globex - Platform rollout", "Globex - Second site")
    )
    body = body[:end] + second + body[end:]

    response = deliver(client, body.encode())

    assert acked(response)
    assert work() == ["processed", "processed"]
    assert sorted(Deal.objects.values_list("name", "stage")) == [
        ("Globex - Platform rollout", "closed_won"),
        ("Globex - Second site", "closed_won"),
    ]


def test_the_15_character_organization_id_is_the_same_organization(client, world):
    connection = connect("salesforce", world, tenant_id=ORG_18[:15])  # a key is made
    assert len(connection.secret) >= 40
    body = fixture_bytes("salesforce_account.xml")
    assert acked(deliver(client, body, key=connection.secret))


def test_another_organization_is_refused_with_403_and_not_stored(client, salesforce):
    body = fixture_bytes("salesforce_opportunity_won.xml").replace(
        ORG_18.encode(), b"00D5e000000ZZ9zEAG"
    )
    response = deliver(client, body)
    assert response.status_code == 403
    assert nothing_stored()
    assert InboundRejection.objects.get().reason == "unknown tenant"


def test_a_disabled_connection_refuses_and_counts_against_it(client, salesforce):
    salesforce.enabled = False
    salesforce.save()
    assert deliver(client, fixture_bytes("salesforce_account.xml")).status_code == 403
    assert nothing_stored()
    assert InboundRejection.objects.get().connection == salesforce


def fault(response) -> str:
    root = ElementTree.fromstring(response.content)
    found = root.find(
        "{http://schemas.xmlsoap.org/soap/envelope/}Body/"
        "{http://schemas.xmlsoap.org/soap/envelope/}Fault"
    )
    assert found.findtext("faultcode") == "soapenv:Client"
    return found.findtext("faultstring")


def test_a_body_that_is_not_soap_is_a_400_soap_fault_and_not_stored(client, salesforce):
    doctype = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>'
    refused = deliver(client, doctype)
    assert refused.status_code == 400 and refused["Content-Type"].startswith("text/xml")
    assert fault(refused) == "A SOAP message has no document type declaration."
    assert fault(deliver(client, b"not xml")) == "The body is not XML."
    assert nothing_stored()


# A message forged with the (not secret) organization id closed a deal lost: the key in the
# URL is what proves Salesforce sent it.
@pytest.mark.parametrize(
    ("key", "reason"), [(None, "missing key"), ("", "missing key"), (KEY[:-1] + "x", "bad key")]
)
def test_a_message_without_the_key_is_a_401_counted_against_the_connection(
    client, salesforce, key, reason
):
    lost = opportunity(IsWon="false", StageName="Closed Lost")
    response = deliver(client, lost, key=key)

    assert response.status_code == 401
    assert fault(response) == f"Refused: {reason}."
    assert nothing_stored()
    counted = InboundRejection.objects.get()
    assert (counted.reason, counted.connection, counted.count) == (reason, salesforce, 1)


def test_a_connection_made_before_keys_is_refused_until_it_has_one(client, salesforce):
    CrmConnection.objects.filter(pk=salesforce.pk).update(secret="")
    response = deliver(client, fixture_bytes("salesforce_account.xml"), key="anything")
    assert response.status_code == 401
    assert InboundRejection.objects.get().reason == "no key saved on the connection"

    salesforce.refresh_from_db()
    connection_update(connection=salesforce, name="Salesforce EU")  # any save makes a key
    salesforce.refresh_from_db()
    assert acked(deliver(client, fixture_bytes("salesforce_account.xml"), key=salesforce.secret))


def test_only_the_allowed_networks_may_send(client, salesforce, settings):
    connection_update(connection=salesforce, allowed_networks="13.108.0.0/14\n2a01:4f8::/32")
    body = fixture_bytes("salesforce_account.xml")

    refused = deliver(client, body)  # from 127.0.0.1
    assert refused.status_code == 403
    assert nothing_stored()
    assert InboundRejection.objects.get().connection == salesforce

    # Behind one trusted proxy the client is the address the proxy added.
    settings.TRUSTED_PROXY_COUNT = 1
    assert acked(deliver(client, body, HTTP_X_FORWARDED_FOR="13.110.54.10"))
    assert not acked_or_none(deliver(client, body, HTTP_X_FORWARDED_FOR="13.112.0.1"))


def acked_or_none(response) -> bool:
    return response.status_code == 200 and acked(response)


def test_the_same_message_twice_is_acked_twice_and_closes_once(client, salesforce):
    known_account_and_contact(client)
    body = fixture_bytes("salesforce_opportunity_won.xml")
    assert acked(deliver(client, body))
    work()
    assert acked(deliver(client, body))  # Salesforce retries until it gets the Ack
    work()
    assert StageChange.objects.count() == 1
    assert InboundEvent.objects.filter(kind="Opportunity notification").count() == 1


def test_a_won_opportunity_of_an_unknown_account_is_blocked_until_the_account_comes(
    client, salesforce
):
    deliver(client, fixture_bytes("salesforce_opportunity_won.xml"))
    assert work() == ["blocked"]
    blocked = InboundEvent.objects.get()
    assert "0015e00000ZkM3hAAF" in blocked.blockers["account"][0]
    assert not Deal.objects.exists()

    known_account_and_contact(client)  # the blocked close goes with them

    deal = Deal.objects.get()
    assert deal.stage == "closed_won"
    assert deal.primary_contact.name == "Hank Scorpio"
    blocked.refresh_from_db()
    assert blocked.state == "processed" and blocked.blockers == {}


def test_lost_then_reopened_in_salesforce(client, salesforce, world):
    known_account_and_contact(client)
    lost = opportunity(IsWon="false", StageName="Closed Lost")
    deliver(client, lost)
    work()
    deal = Deal.objects.get()
    assert deal.stage == "closed_lost" and deal.loss_reason == world.loss

    reopened = opportunity(
        IsWon="false",
        IsClosed="false",
        StageName="Negotiation/Review",
        LastModifiedDate="2026-11-28T09:00:00.000Z",
    ).replace(b"04l5e00000Gx7QzAAJ", b"04l5e00000Gx7S5AAJ")
    deliver(client, reopened)
    work()
    deal.refresh_from_db()
    assert deal.stage == "negotiation"


def test_an_older_notification_arriving_late_changes_nothing(client, salesforce):
    known_account_and_contact(client)
    deliver(client, fixture_bytes("salesforce_opportunity_won.xml"))
    work()
    late = opportunity(
        IsWon="false", IsClosed="false", LastModifiedDate="2026-11-20T09:00:00.000Z"
    ).replace(b"04l5e00000Gx7QzAAJ", b"04l5e00000Gx7S6AAJ")
    deliver(client, late)
    assert work() == ["ignored"]
    assert Deal.objects.get().stage == "closed_won"


def test_a_lead_message_is_recorded_as_ignored(client, salesforce):
    body = (
        fixture_bytes("salesforce_account.xml")
        .replace(b'xsi:type="sf:Account"', b'xsi:type="sf:Lead"')
        .replace(b"04l5e00000Gx7R1AAJ", b"04l5e00000Gx7R9AAJ")
    )
    assert acked(deliver(client, body))
    assert work() == ["ignored"]
    assert "Lead" in InboundEvent.objects.get().reason
