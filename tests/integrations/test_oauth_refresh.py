"""Access tokens that expire: a Zoho or HubSpot public-app connection with OAuth refresh
set up gets a new access token from the stand-in token server before a read, or after a
401, once per connection at a time; a refused refresh fails the event with the reason and
changes nothing; a plain API token is sent as it is."""

import datetime as dt
import logging
import threading

import pytest
from django.db import connection as db_connection

from apps.core import clock
from apps.deals.models import Deal
from apps.integrations.models import CrmConnection, InboundEvent
from apps.integrations.services import connection_create
from apps.integrations.tokens import connection_access_token, connection_token_refresh
from tests.integrations import test_hubspot, test_zoho
from tests.integrations.conftest import connect, work
from tests.services import require_postgres

CLIENT_ID = "1000.SELFCLIENT0000000000000000AB"
CLIENT_SECRET = "c1ient-s3cret-0f-the-zoho-client"
REFRESH_TOKEN = "1000.refresh.0f0f0f0f0f0f0f0f"
ZOHO_TOKEN_PATH = "/oauth/v2/token"
HUBSPOT_TOKEN_PATH = "/oauth/v1/token"
NOW = dt.datetime(2026, 12, 1, 14, 0, tzinfo=dt.UTC)


def oauth_settings(crm_api, **changes) -> dict:
    return {
        "oauth_client_id": CLIENT_ID,
        "oauth_client_secret": CLIENT_SECRET,
        "oauth_refresh_token": REFRESH_TOKEN,
        # A data centre's accounts server given alone: the token path is added.
        "oauth_token_url": crm_api.url,
    } | changes


def zoho_token(access_token: str = "1000.fresh.access", expires_in: int = 3600) -> tuple:
    return (
        200,
        {
            "access_token": access_token,
            "expires_in": expires_in,
            "api_domain": "https://www.zohoapis.com",
            "token_type": "Bearer",
        },
    )


@pytest.fixture
def zoho(world, crm_api):
    connection = connect(
        "zoho",
        world,
        tenant_id="1000000068002",
        secret=test_zoho.TOKEN,
        api_token="1000.expired.access",
        access_token_expires_at=NOW - dt.timedelta(minutes=5),
        api_base_url=crm_api.url,
        **oauth_settings(crm_api),
    )
    test_zoho.serve_records(crm_api)
    return connection


def authorizations(crm_api) -> list[str]:
    return [h.get("Authorization", "") for path, h in crm_api.requests if "/crm/" in path]


def test_an_expired_zoho_token_is_refreshed_before_the_deal_is_read(client, zoho, crm_api, caplog):
    caplog.set_level(logging.DEBUG)
    crm_api.answer(ZOHO_TOKEN_PATH, zoho_token())

    with clock.frozen(NOW):
        test_zoho.deliver(client, test_zoho.notification())
        assert work() == ["processed"]

    assert crm_api.paths()[0] == ZOHO_TOKEN_PATH  # before the first read
    assert crm_api.forms == [
        {
            "grant_type": "refresh_token",
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "refresh_token": REFRESH_TOKEN,
        }
    ]
    assert set(authorizations(crm_api)) == {"Zoho-oauthtoken 1000.fresh.access"}
    assert Deal.objects.get().stage == "closed_won"
    zoho.refresh_from_db()
    assert zoho.api_token == "1000.fresh.access"
    assert zoho.access_token_expires_at == NOW + dt.timedelta(hours=1)
    assert zoho.oauth_refresh_token == REFRESH_TOKEN  # Zoho keeps the refresh token
    for secret in (CLIENT_SECRET, REFRESH_TOKEN, "1000.fresh.access"):
        assert secret not in caplog.text


def test_a_token_good_for_more_than_a_minute_is_used_without_a_refresh(client, zoho, crm_api):
    CrmConnection.objects.filter(pk=zoho.pk).update(
        access_token_expires_at=NOW + dt.timedelta(minutes=2)
    )
    with clock.frozen(NOW):
        test_zoho.deliver(client, test_zoho.notification())
        assert work() == ["processed"]
    assert crm_api.forms == []
    assert set(authorizations(crm_api)) == {"Zoho-oauthtoken 1000.expired.access"}


def test_a_401_refreshes_the_token_once_and_the_read_is_tried_again(client, zoho, crm_api):
    # Revoked early, or pasted by hand with no known expiry: the API says so with a 401.
    CrmConnection.objects.filter(pk=zoho.pk).update(access_token_expires_at=None)
    deal_path = f"/crm/v2/Deals/{test_zoho.DEAL_1}"
    crm_api.routes[deal_path].insert(0, (401, {"code": "INVALID_TOKEN"}))
    crm_api.answer(ZOHO_TOKEN_PATH, zoho_token())

    test_zoho.deliver(client, test_zoho.notification())
    assert work() == ["processed"]

    assert crm_api.paths()[:3] == [deal_path, ZOHO_TOKEN_PATH, deal_path]
    assert len(crm_api.forms) == 1
    assert authorizations(crm_api)[:2] == [
        "Zoho-oauthtoken 1000.expired.access",
        "Zoho-oauthtoken 1000.fresh.access",
    ]
    assert Deal.objects.get().stage == "closed_won"


@pytest.mark.parametrize(
    ("refusal", "said", "to_fix"),
    [
        ((200, {"error": "invalid_code"}), "invalid_code", "Check the refresh token"),
        ((200, {"error": "invalid_client"}), "invalid_client", "the client id and client secret"),
        (
            (400, {"status": "BAD_REFRESH_TOKEN", "message": "missing or unknown refresh token"}),
            "BAD_REFRESH_TOKEN: missing or unknown refresh token",
            "Check the refresh token",
        ),
    ],
)
def test_a_refused_refresh_fails_the_event_with_the_reason_and_changes_nothing(
    client, zoho, crm_api, refusal, said, to_fix, caplog
):
    crm_api.answer(ZOHO_TOKEN_PATH, refusal)
    before = CrmConnection.objects.values().get(pk=zoho.pk)

    with clock.frozen(NOW):
        test_zoho.deliver(client, test_zoho.notification())
        assert work() == ["failed"]

    event = InboundEvent.objects.get()
    assert "Zoho CRM connection “Northwind zoho” could not refresh its access token" in (
        event.reason
    )
    assert f"said “{said}”" in event.reason and to_fix in event.reason
    assert event.next_attempt_at == NOW + dt.timedelta(minutes=1)  # the usual backoff
    assert CrmConnection.objects.values().get(pk=zoho.pk) == before
    assert not Deal.objects.exists()
    assert crm_api.paths() == [ZOHO_TOKEN_PATH]  # nothing read with the dead token
    assert CLIENT_SECRET not in event.reason and REFRESH_TOKEN not in event.reason
    assert CLIENT_SECRET not in caplog.text and REFRESH_TOKEN not in caplog.text


def test_a_worker_that_waited_for_the_lock_uses_the_token_the_other_one_got(zoho, crm_api):
    stale = CrmConnection.objects.get(pk=zoho.pk)  # read while the token was expired
    CrmConnection.objects.filter(pk=zoho.pk).update(
        api_token="1000.got.by.the.other.worker",
        access_token_expires_at=NOW + dt.timedelta(minutes=59),
    )

    with clock.frozen(NOW):
        assert connection_access_token(stale) == "1000.got.by.the.other.worker"
        # After a 401 with the old token, likewise: the other worker's token is newer.
        stale.api_token = "1000.expired.access"
        refreshed = connection_token_refresh(connection=stale, rejected="1000.expired.access")
    assert refreshed == "1000.got.by.the.other.worker"
    assert crm_api.forms == []


@pytest.mark.django_db(transaction=True)
def test_two_workers_reading_at_once_refresh_the_token_once(crm_api):
    require_postgres()
    zoho = connection_create(
        name="Northwind zoho",
        vendor="zoho",
        tenant_id="1000000068002",
        secret=test_zoho.TOKEN,
        api_token="1000.expired.access",
        access_token_expires_at=clock.now() - dt.timedelta(minutes=5),
        api_base_url=crm_api.url,
        **oauth_settings(crm_api),
    )
    crm_api.answer(ZOHO_TOKEN_PATH, zoho_token("1000.first"), zoho_token("1000.second"))
    crm_api.slow[ZOHO_TOKEN_PATH] = 0.5  # the first refresh is still out when the second asks
    barrier = threading.Barrier(2)
    tokens: list[str] = []

    def read() -> None:
        try:
            mine = CrmConnection.objects.get(pk=zoho.pk)  # both see the expired token
            barrier.wait(5)
            tokens.append(connection_access_token(mine))
        finally:
            db_connection.close()

    workers = [threading.Thread(target=read) for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(30)

    assert tokens == ["1000.first", "1000.first"]
    assert len(crm_api.forms) == 1
    assert CrmConnection.objects.get(pk=zoho.pk).api_token == "1000.first"


@pytest.fixture
def hubspot_public_app(world, crm_api):
    connection = connect(
        "hubspot",
        world,
        tenant_id="62515",
        secret=test_hubspot.SECRET,
        api_base_url=crm_api.url,
        **oauth_settings(crm_api, oauth_token_url=crm_api.url + HUBSPOT_TOKEN_PATH),
    )
    test_hubspot.serve_deal(crm_api, "1001")
    return connection


def hubspot_token(access_token: str, refresh_token: str) -> tuple:
    return (
        200,
        {
            "token_type": "bearer",
            "refresh_token": refresh_token,
            "access_token": access_token,
            "expires_in": 1800,
        },
    )


def test_a_hubspot_public_app_gets_its_first_token_and_keeps_the_rotated_refresh_token(
    client, hubspot_public_app, crm_api
):
    crm_api.answer(
        HUBSPOT_TOKEN_PATH,
        hubspot_token("CJT-first", "rotated-1"),
        hubspot_token("CJT-second", "rotated-2"),
    )
    started = clock.now()
    test_hubspot.deliver(client, test_hubspot.one_event())
    assert work() == ["processed"]

    connection = CrmConnection.objects.get(pk=hubspot_public_app.pk)
    assert connection.api_token == "CJT-first"
    assert connection.oauth_refresh_token == "rotated-1"
    expires_in = connection.access_token_expires_at - started
    assert dt.timedelta(minutes=29) < expires_in <= dt.timedelta(minutes=31)
    assert crm_api.forms[0]["refresh_token"] == REFRESH_TOKEN
    assert set(authorizations(crm_api)) == {"Bearer CJT-first"}

    # Half an hour later the token has expired: the next read refreshes with the new
    # refresh token HubSpot gave.
    test_hubspot.deliver(client, test_hubspot.one_event(eventId=1836471299))
    with clock.frozen(started + dt.timedelta(minutes=31)):
        assert work() == ["processed"]
    assert [form["refresh_token"] for form in crm_api.forms] == [REFRESH_TOKEN, "rotated-1"]
    connection.refresh_from_db()
    assert (connection.api_token, connection.oauth_refresh_token) == ("CJT-second", "rotated-2")
    assert authorizations(crm_api)[-1] == "Bearer CJT-second"


def test_a_plain_api_token_is_sent_as_it_is_and_a_401_only_fails_the_event(client, world, crm_api):
    plain = connect(
        "hubspot",
        world,
        tenant_id="62515",
        secret=test_hubspot.SECRET,
        api_token="pat-na1-0000",
        api_base_url=crm_api.url,
    )
    crm_api.answer("/crm/v3/objects/deals/1001", (401, {"category": "INVALID_AUTHENTICATION"}))

    test_hubspot.deliver(client, test_hubspot.one_event())
    assert work() == ["failed"]

    assert "HubSpot deal 1001: the CRM answered 401" in InboundEvent.objects.get().reason
    assert crm_api.forms == [] and crm_api.paths() == ["/crm/v3/objects/deals/1001"]
    assert authorizations(crm_api) == ["Bearer pat-na1-0000"]
    plain.refresh_from_db()
    assert (plain.api_token, plain.access_token_expires_at) == ("pat-na1-0000", None)


def test_zoho_names_the_data_centre_for_a_connection_that_left_it_empty(zoho, crm_api):
    CrmConnection.objects.filter(pk=zoho.pk).update(api_base_url="")
    zoho.refresh_from_db()
    europe = (200, zoho_token()[1] | {"api_domain": "https://www.zohoapis.eu"})
    crm_api.answer(ZOHO_TOKEN_PATH, europe)

    with clock.frozen(NOW):
        assert connection_access_token(zoho) == "1000.fresh.access"

    zoho.refresh_from_db()
    assert zoho.api_base_url == "https://www.zohoapis.eu"
    # One set by hand is the admin's choice, and stays.
    CrmConnection.objects.filter(pk=zoho.pk).update(
        api_base_url="https://www.zohoapis.in", access_token_expires_at=NOW
    )
    zoho.refresh_from_db()
    with clock.frozen(NOW):
        connection_access_token(zoho)
    zoho.refresh_from_db()
    assert zoho.api_base_url == "https://www.zohoapis.in"
