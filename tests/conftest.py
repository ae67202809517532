import pytest

from tests.factories import UserFactory
from tests.services import switch_broker


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
    switch_broker("memory://")
    yield
    switch_broker(previous)
