import pytest
from django.core.cache import caches
from django.test import override_settings

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


@pytest.fixture(autouse=True, scope="session")
def _fast_password_hasher():
    """Passwords made and checked during tests use a fast hasher. The product's PBKDF2
    takes about half a second a password on a CI core, and tests make thousands of users
    (factories, fixtures, the demo's people); nothing here tests the hash's strength.
    A test that needs the product's hashers sets them back with the ``settings`` fixture."""
    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
        yield


@pytest.fixture(autouse=True, scope="session")
def _throttle_counters_in_memory():
    """The API's request counters live in this process during tests, even when Redis is
    configured, so that each test can start with none (a Redis cache's clear() would
    empty the whole database it shares with the broker)."""
    from django.conf import settings

    caches_ = {
        **settings.CACHES,
        "throttles": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    }
    with override_settings(CACHES=caches_):
        yield


@pytest.fixture(autouse=True)
def _fresh_throttle_counters(_throttle_counters_in_memory):
    caches["throttles"].clear()


@pytest.fixture(autouse=True)
def _no_webhook_listeners_known():
    """Each test starts knowing of no webhook subscription (a subscription it makes is
    heard at once): what an earlier test subscribed to must not make this one's events
    wait for processing."""
    from apps.webhooks import listeners

    listeners.assume(frozenset())
