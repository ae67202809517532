"""Fixtures: a real HTTP receiver on a free local port, subscriptions that may reach it."""

import pytest

from apps.webhooks.services import subscription_create
from tests.webhooks.receiver import Receiver


@pytest.fixture
def receiver():
    server = Receiver()
    server.thread.start()
    try:
        yield server
    finally:
        server.server.shutdown()
        server.server.server_close()


@pytest.fixture
def private_destinations(settings):
    """Deliveries may reach this machine (the receiver listens on 127.0.0.1)."""
    settings.WEBHOOK_ALLOW_PRIVATE_DESTINATIONS = True
    return settings


@pytest.fixture
def subscribe(private_destinations, admin_user):
    def make(url: str, event_types=("deal.closed_won",), name: str = "Data warehouse"):
        subscription, secret = subscription_create(
            name=name, url=url, event_types=list(event_types), actor=admin_user
        )
        return subscription, secret

    return make
