"""Webhooks go only to http(s) addresses on the internet: the host is resolved and a
private, loopback or link-local address is refused, when saving and when sending."""

import pytest

from apps.webhooks.destinations import DestinationRefused, destination_resolve
from apps.webhooks.models import WebhookDelivery
from apps.webhooks.services import delivery_deliver, delivery_send_test

pytestmark = pytest.mark.django_db

REFUSED = [
    "http://127.0.0.1/hook",
    "http://127.8.9.10:8080/hook",
    "http://localhost/hook",
    "http://10.1.2.3/hook",
    "http://172.16.0.1/hook",
    "http://172.31.255.254/hook",
    "https://192.168.1.20/hook",
    "http://169.254.169.254/latest/meta-data/",  # a cloud's metadata service
    "http://100.64.0.1/hook",
    "http://0.0.0.0/hook",
    "http://[::1]/hook",
    "http://[fc00::1]/hook",
    "http://[fd12:3456::1]/hook",
    "http://[fe80::1]/hook",
    "http://[::ffff:127.0.0.1]/hook",
    "http://224.0.0.1/hook",
]


@pytest.mark.parametrize("url", REFUSED)
def test_private_loopback_and_link_local_addresses_are_refused(settings, url):
    settings.WEBHOOK_ALLOW_PRIVATE_DESTINATIONS = False
    with pytest.raises(DestinationRefused, match="non-public address"):
        destination_resolve(url)


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("ftp://93.184.215.14/hook", "Only http:// and https://"),
        ("file:///etc/passwd", "Only http:// and https://"),
        ("javascript:alert(1)", "Only http:// and https://"),
        ("https:///hook", "no host name"),
        ("https://user:pw@93.184.215.14/hook", "no user name or password"),
        ("https://93.184.215.14:99999/hook", "port"),
        ("https://no-such-host.invalid/hook", "could not be resolved"),
        ("http://[::1/hook", "not a valid web address"),
        ("http://exa\x00mple.com/hook", "could not be resolved"),
    ],
)
def test_what_is_not_an_internet_http_address_is_refused(url, reason):
    with pytest.raises(DestinationRefused, match=reason):
        destination_resolve(url)


def test_a_public_address_is_accepted_without_connecting(settings):
    settings.WEBHOOK_ALLOW_PRIVATE_DESTINATIONS = False
    destination = destination_resolve("https://93.184.215.14:8443/in/hooks?team=cs")
    assert (destination.address, destination.port, destination.target) == (
        "93.184.215.14",
        8443,
        "/in/hooks?team=cs",
    )


def test_the_setting_lets_deliveries_reach_this_machine_and_the_private_network(settings):
    settings.WEBHOOK_ALLOW_PRIVATE_DESTINATIONS = True
    assert destination_resolve("http://127.0.0.1:9/hook").address == "127.0.0.1"
    assert destination_resolve("http://10.1.2.3/hook").address == "10.1.2.3"


@pytest.mark.parametrize(
    "url",
    ["http://169.254.169.254/latest/", "http://[fe80::1]/", "http://0.0.0.0/", "http://224.0.0.1/"],
)
def test_link_local_and_multicast_are_refused_even_when_private_ones_are_allowed(settings, url):
    settings.WEBHOOK_ALLOW_PRIVATE_DESTINATIONS = True
    with pytest.raises(DestinationRefused, match="non-public address"):
        destination_resolve(url)


def test_an_address_refused_at_send_time_is_not_contacted(subscribe, receiver, settings):
    # Saved while allowed (or a name that now resolves elsewhere): checked again on send.
    subscription, _ = subscribe(receiver.url)
    settings.WEBHOOK_ALLOW_PRIVATE_DESTINATIONS = False
    delivery = delivery_send_test(subscription=subscription)

    assert delivery_deliver(delivery_id=delivery.pk) == "failed"

    assert receiver.received() == []
    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.FAILED
    assert delivery.last_status_code is None
    assert delivery.last_error.startswith("Refused: 127.0.0.1 resolves to 127.0.0.1")


def test_redirects_are_not_followed(subscribe, receiver):
    subscription, _ = subscribe(receiver.url)
    receiver.answers.append(302)
    delivery = delivery_send_test(subscription=subscription)

    assert delivery_deliver(delivery_id=delivery.pk) == "failed"

    delivery.refresh_from_db()
    assert delivery.last_status_code == 302
    assert "Redirects are not followed" in delivery.last_error
