import os

import pytest

from tests.factories import UserFactory

REQUIRE_SERVICES = os.environ.get("REQUIRE_SERVICES") == "1"


def skip_or_fail(reason: str) -> None:
    """Skip a test that needs an absent service; with REQUIRE_SERVICES=1 fail instead."""
    if REQUIRE_SERVICES:
        pytest.fail(f"{reason} (REQUIRE_SERVICES=1 makes this a failure)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture
def admin_user(db):
    user = UserFactory(username="ada", role="Admin", is_staff=True, is_superuser=True)
    return user


@pytest.fixture
def cs_manager(db):
    return UserFactory(username="mona", role="CS Manager", is_staff=True)


@pytest.fixture
def csm(db):
    return UserFactory(username="carla", role="CSM")


@pytest.fixture
def rep(db):
    return UserFactory(username="rick", role="Sales Rep")


@pytest.fixture
def outsider(db):
    return UserFactory(username="otto")


@pytest.fixture(autouse=True, scope="session")
def _isolated_broker():
    """Messages sent by tests go to an in-memory broker, never to a running dev worker's
    queue; integration tests point the app at their own Redis (tests.services.app_broker)."""
    from config.celery import app

    previous = app.conf.broker_url
    app.conf.broker_url = "memory://"
    app.pool.force_close_all()
    app._pool = None
    yield
    app.conf.broker_url = previous
