"""OAuth refresh in the admin: the settings are entered on the connection (the client
secret and refresh token write-only), the page says whether refresh is set up and when the
access token expires, and the Test page's *Refresh token now* gets a new one at once."""

import datetime as dt

import pytest
from django.urls import reverse

from apps.core import clock
from apps.integrations.models import CrmConnection
from tests.integrations import test_zoho
from tests.integrations.conftest import connect, work
from tests.integrations.test_admin import form_data
from tests.integrations.test_oauth_refresh import (
    CLIENT_ID,
    CLIENT_SECRET,
    REFRESH_TOKEN,
    ZOHO_TOKEN_PATH,
    oauth_settings,
    zoho_token,
)

NOW = dt.datetime(2026, 12, 1, 14, 0, tzinfo=dt.UTC)


def zoho_form(world, crm_api, **changes) -> dict:
    return (
        form_data(
            world,
            name="Northwind Zoho",
            vendor="zoho",
            tenant_id="1000000068002",
            secret=test_zoho.TOKEN,
            basic_auth_username="",
            api_base_url=crm_api.url,
            **oauth_settings(crm_api),
        )
        | changes
    )


@pytest.fixture
def zoho(world, crm_api):
    return connect(
        "zoho",
        world,
        tenant_id="1000000068002",
        secret=test_zoho.TOKEN,
        api_base_url=crm_api.url,
        api_token="1000.old.access",
        access_token_expires_at=NOW - dt.timedelta(minutes=1),
        **oauth_settings(crm_api),
    )


def test_a_zoho_connection_is_added_with_oauth_refresh_and_no_access_token(
    client, admin_user, world, crm_api
):
    client.force_login(admin_user)
    added = client.post(reverse("admin:integrations_crmconnection_add"), zoho_form(world, crm_api))
    assert added.status_code == 302, added.content.decode()[:3000]
    connection = CrmConnection.objects.get()
    assert (connection.oauth_client_secret, connection.oauth_refresh_token) == (
        CLIENT_SECRET,
        REFRESH_TOKEN,
    )

    page = client.get(reverse("admin:integrations_crmconnection_change", args=[connection.pk]))
    shown = page.content.decode()
    assert f"set up: client id {CLIENT_ID}" in shown
    assert f"refreshed at {crm_api.url}/oauth/v2/token" in shown
    assert "no access token yet: one is fetched before the next read" in shown
    assert CLIENT_SECRET not in shown and REFRESH_TOKEN not in shown

    # Saved again with the write-only fields left empty: they are kept.
    kept = client.post(
        reverse("admin:integrations_crmconnection_change", args=[connection.pk]),
        zoho_form(world, crm_api, oauth_client_secret="", oauth_refresh_token=""),
    )
    assert kept.status_code == 302
    connection.refresh_from_db()
    assert connection.oauth_refresh_token == REFRESH_TOKEN


def test_half_the_oauth_settings_are_refused_naming_what_is_missing(
    client, admin_user, world, crm_api
):
    client.force_login(admin_user)
    refused = client.post(
        reverse("admin:integrations_crmconnection_add"),
        zoho_form(world, crm_api, oauth_refresh_token=""),
    )
    errors = refused.context["adminform"].form.errors
    assert errors["oauth_refresh_token"] == [
        "Enter the OAuth refresh token too: refreshing the access token needs the client id, "
        "the client secret and the refresh token."
    ]
    assert not CrmConnection.objects.exists()


def test_emptying_the_client_id_turns_oauth_refresh_off(client, admin_user, world, zoho, crm_api):
    client.force_login(admin_user)
    saved = client.post(
        reverse("admin:integrations_crmconnection_change", args=[zoho.pk]),
        zoho_form(
            world,
            crm_api,
            oauth_client_id="",
            oauth_client_secret="",
            oauth_refresh_token="",
            api_token="1000.pasted.by.hand",
        ),
    )
    assert saved.status_code == 302, saved.content.decode()[:3000]
    zoho.refresh_from_db()
    assert (zoho.oauth_client_id, zoho.oauth_client_secret, zoho.oauth_refresh_token) == (
        "",
        "",
        "",
    )
    assert (zoho.api_token, zoho.access_token_expires_at) == ("1000.pasted.by.hand", None)
    page = client.get(reverse("admin:integrations_crmconnection_change", args=[zoho.pk]))
    assert "not set up: the API token is sent as it is" in page.content.decode()


def test_refresh_token_now_on_the_test_page(client, admin_user, zoho, crm_api):
    crm_api.answer(ZOHO_TOKEN_PATH, zoho_token("1000.new.access"))
    client.force_login(admin_user)
    test_page = reverse("admin:integrations_crmconnection_test", args=[zoho.pk])
    refresh = reverse("admin:integrations_crmconnection_refresh_token", args=[zoho.pk])

    with clock.frozen(NOW):
        shown = client.get(test_page).content.decode()
        assert "Current access token: expired Tue 1 Dec 2026" in shown
        assert "Refresh token now" in shown
        done = client.post(refresh, follow=True).content.decode()

    assert "New access token: expires Tue 1 Dec 2026, 15:00." in done
    zoho.refresh_from_db()
    assert zoho.api_token == "1000.new.access"
    assert zoho.access_token_expires_at == NOW + dt.timedelta(hours=1)
    assert client.get(refresh).status_code == 405


def test_a_refused_refresh_now_says_why_and_changes_nothing(client, admin_user, zoho, crm_api):
    crm_api.answer(ZOHO_TOKEN_PATH, (200, {"error": "invalid_code"}))
    client.force_login(admin_user)
    refresh = reverse("admin:integrations_crmconnection_refresh_token", args=[zoho.pk])

    done = client.post(refresh, follow=True).content.decode()

    assert "could not refresh its access token" in done and "invalid_code" in done
    zoho.refresh_from_db()
    assert zoho.api_token == "1000.old.access"


def test_only_who_may_change_connections_refreshes_a_token(client, cs_manager, zoho, crm_api):
    client.force_login(cs_manager)
    refresh = reverse("admin:integrations_crmconnection_refresh_token", args=[zoho.pk])
    assert client.post(refresh).status_code == 403
    assert crm_api.forms == []


def test_a_refused_refresh_is_shown_in_the_inbound_log_like_other_failures(
    client, admin_user, zoho, crm_api
):
    crm_api.answer(ZOHO_TOKEN_PATH, (200, {"error": "invalid_code"}))
    test_zoho.deliver(client, test_zoho.notification())
    assert work() == ["failed"]
    client.force_login(admin_user)

    listed = client.get(
        reverse("admin:integrations_inboundevent_changelist"), {"state__exact": "failed"}
    ).content.decode()

    assert "Deals.update" in listed
    assert "“Northwind zoho” could not refresh its access token" in listed
    assert "Check the refresh token" in listed
