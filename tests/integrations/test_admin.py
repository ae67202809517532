"""The admin: connections with write-only secrets, their "test" page, the inbound log
with its filters, parsed results and replay, and the counts per connection."""

import logging
import re

import pytest
from django.urls import reverse

from apps.deals.models import Deal
from apps.integrations.models import CrmConnection, InboundEvent
from apps.integrations.processing import events_process_due
from tests.factories import UserFactory
from tests.integrations.conftest import connect, fixture_json, work
from tests.integrations.test_pipedrive import basic
from tests.integrations.test_pipedrive import deliver as pipedrive_deliver

SECRET = "s3cret-passw0rd"


@pytest.fixture
def pipedrive(world):
    return connect(
        "pipedrive", world, tenant_id="12882925", basic_auth_username="afterwin", secret=SECRET
    )


def form_data(world, **changes) -> dict:
    data = {
        "name": "Northwind Pipedrive",
        "vendor": "pipedrive",
        "tenant_id": "12882925",
        "enabled": "on",
        "secret": "",
        "basic_auth_username": "afterwin",
        "api_token": "",
        "api_base_url": "",
        "won_stages": "",
        "lost_stages": "",
        "default_owner": world.rep.pk,
        "default_win_reason": world.win.pk,
        "default_loss_reason": world.loss.pk,
        "default_currency": "USD",
        "default_product": world.product.pk,
        "owner_mappings-TOTAL_FORMS": "0",
        "owner_mappings-INITIAL_FORMS": "0",
        "owner_mappings-MIN_NUM_FORMS": "0",
        "owner_mappings-MAX_NUM_FORMS": "1000",
    }
    return data | changes


def test_a_connection_is_added_with_its_secret_which_is_never_shown_again(
    client, admin_user, world
):
    client.force_login(admin_user)
    added = client.post(
        reverse("admin:integrations_crmconnection_add"), form_data(world, secret=SECRET)
    )
    assert added.status_code == 302, added.content.decode()[:2000]
    connection = CrmConnection.objects.get()
    assert connection.secret == SECRET

    page = client.get(reverse("admin:integrations_crmconnection_change", args=[connection.pk]))
    shown = page.content.decode()
    assert SECRET not in shown
    assert "yes (hidden)" in shown
    assert "/integrations/inbound/pipedrive/" in shown  # the URL to give Pipedrive

    # Saving with the secret left empty keeps it.
    kept = client.post(
        reverse("admin:integrations_crmconnection_change", args=[connection.pk]),
        form_data(world, name="Pipedrive EU"),
    )
    assert kept.status_code == 302
    connection.refresh_from_db()
    assert (connection.name, connection.secret) == ("Pipedrive EU", SECRET)


def test_what_a_vendor_needs_is_asked_for_by_field(client, admin_user, world):
    client.force_login(admin_user)
    refused = client.post(
        reverse("admin:integrations_crmconnection_add"),
        form_data(world, vendor="close", tenant_id="orga_x", secret="not hex"),
    )
    assert refused.status_code == 200
    errors = refused.context["adminform"].form.errors
    assert errors["secret"] == ["Close's signature key is hexadecimal (0-9, a-f)."]
    refused = client.post(
        reverse("admin:integrations_crmconnection_add"),
        form_data(world, vendor="hubspot", tenant_id="62515", secret="x"),
    )
    assert "api_token" in refused.context["adminform"].form.errors
    assert not CrmConnection.objects.exists()


def test_the_test_page_shows_the_last_deliveries_and_refusals(client, admin_user, pipedrive):
    pipedrive_deliver(client, fixture_json("pipedrive_v2_organization.json"))
    pipedrive_deliver(client, fixture_json("pipedrive_v2_deal_won.json"), auth=basic(password="x"))
    work()
    client.force_login(admin_user)

    page = client.get(reverse("admin:integrations_crmconnection_test", args=[pipedrive.pk]))

    shown = page.content.decode()
    assert page.status_code == 200
    assert "create.organization (v2) 2" in shown and "Processed" in shown
    assert "bad signature" in shown  # the refused delivery, counted
    assert "1 processed" in shown and "1 request refused" in shown
    assert re.search(r"\w{3} \d{1,2} \w{3} \d{4}, \d\d:\d\d</time>", shown)  # the one format
    assert SECRET not in shown

    listed = client.get(reverse("admin:integrations_crmconnection_changelist"))
    assert "1 processed, 1 rejected" in listed.content.decode()


def test_the_inbound_log_filters_by_state_shows_blockers_and_replays(
    client, admin_user, pipedrive, world
):
    CrmConnection.objects.filter(pk=pipedrive.pk).update(default_win_reason=None)
    pipedrive_deliver(client, fixture_json("pipedrive_v2_organization.json"))
    pipedrive_deliver(client, fixture_json("pipedrive_v2_person.json"))
    pipedrive_deliver(client, fixture_json("pipedrive_v2_deal_won.json"))
    assert work() == ["processed", "processed", "blocked"]
    client.force_login(admin_user)
    changelist = reverse("admin:integrations_inboundevent_changelist")

    blocked = client.get(changelist, {"state__exact": "blocked", "vendor__exact": "pipedrive"})
    shown = blocked.content.decode()
    assert "change.deal (v2)" in shown and "create.organization" not in shown
    assert "Choose a default win reason on the connection" in shown
    processed = client.get(changelist, {"state__exact": "processed"}).content.decode()
    assert "create.organization (v2)" in processed and "change.deal" not in processed
    event = InboundEvent.objects.get(kind="change.deal (v2)")
    detail = client.get(reverse("admin:integrations_inboundevent_change", args=[event.pk]))
    assert "Parsed result" in detail.content.decode()
    assert "Initech - Analytics seats" in detail.content.decode()

    # The admin gives the connection a default win reason and replays the event.
    CrmConnection.objects.filter(pk=pipedrive.pk).update(default_win_reason=world.win)
    replay = client.post(
        changelist, {"action": "replay", "_selected_action": [event.pk]}, follow=True
    )
    assert "1 event(s) will be processed again." in replay.content.decode()
    work()
    assert Deal.objects.get().stage == "closed_won"
    # Replaying a processed close changes nothing.
    client.post(changelist, {"action": "replay", "_selected_action": [event.pk]})
    work()
    assert Deal.objects.get().stage_changes.count() == 1
    assert InboundEvent.objects.get(pk=event.pk).result["transition"] == "none: already won"


def test_only_admins_see_the_inbound_log_and_replay(client, cs_manager, pipedrive):
    pipedrive_deliver(client, fixture_json("pipedrive_v2_organization.json"))
    work()
    event = InboundEvent.objects.get()
    changelist = reverse("admin:integrations_inboundevent_changelist")
    client.force_login(cs_manager)  # staff, without the integrations permissions
    assert client.get(changelist).status_code == 403
    assert (
        client.post(changelist, {"action": "replay", "_selected_action": [event.pk]}).status_code
        == 403
    )

    admin = UserFactory(username="ada.admin", role="Admin", is_staff=True)
    client.force_login(admin)
    assert client.get(changelist).status_code == 200
    client.post(changelist, {"action": "replay", "_selected_action": [event.pk]})
    assert InboundEvent.objects.get().state == "pending"


def test_the_sweep_processes_what_lost_its_message_and_running_it_twice_changes_nothing(
    client, pipedrive, settings
):
    settings.OUTBOX_SWEEP_GRACE_SECONDS = 0
    pipedrive_deliver(client, fixture_json("pipedrive_v2_organization.json"))
    # No worker received the message: the sweep finds the event.
    assert events_process_due() == 1
    assert events_process_due() == 0
    assert InboundEvent.objects.get().state == "processed"


def test_secrets_and_tokens_never_reach_the_logs(client, pipedrive, caplog):
    caplog.set_level(logging.DEBUG)
    pipedrive_deliver(client, fixture_json("pipedrive_v2_organization.json"))
    pipedrive_deliver(client, fixture_json("pipedrive_v2_deal_won.json"), auth=basic(password="x"))
    work()
    assert caplog.records  # something was logged
    assert SECRET not in caplog.text


def test_the_connection_list_counts_in_a_fixed_number_of_queries(
    client, admin_user, world, django_assert_max_num_queries
):
    client.force_login(admin_user)
    url = reverse("admin:integrations_crmconnection_changelist")
    connect("pipedrive", world, tenant_id="1", basic_auth_username="u", secret="p")
    client.get(url)
    with django_assert_max_num_queries(12) as one:
        client.get(url)
    for tenant in ("2", "3", "4"):
        connect("pipedrive", world, tenant_id=tenant, basic_auth_username="u", secret="p")
    with django_assert_max_num_queries(len(one.captured_queries)):
        assert "none yet" in client.get(url).content.decode()


def test_a_salesforce_connection_gets_a_key_shown_once_in_the_url_to_give(
    client, admin_user, world
):
    client.force_login(admin_user)
    salesforce = form_data(
        world, vendor="salesforce", tenant_id="00D5e000000KQ2eEAG", basic_auth_username=""
    )
    added = client.post(reverse("admin:integrations_crmconnection_add"), salesforce, follow=True)
    connection = CrmConnection.objects.get()
    key = connection.secret
    assert len(key) >= 40
    assert f"/integrations/inbound/salesforce/?key={key}" in added.content.decode()

    change_url = reverse("admin:integrations_crmconnection_change", args=[connection.pk])
    page = client.get(change_url).content.decode()
    assert key not in page and "/integrations/inbound/salesforce/?key=••••" in page
    test_page = reverse("admin:integrations_crmconnection_test", args=[connection.pk])
    assert key not in client.get(test_page).content.decode()

    # Saved again without a key: the key stays, and is not shown again.
    kept = client.post(change_url, salesforce | {"name": "Salesforce EU"}, follow=True)
    assert key not in kept.content.decode()
    connection.refresh_from_db()
    assert connection.secret == key

    refused = client.post(
        change_url, salesforce | {"secret": "short", "allowed_networks": "13.108.0.0/14\nnope"}
    )
    errors = refused.context["adminform"].form.errors
    assert "24 letters" in errors["secret"][0]
    assert errors["allowed_networks"] == [
        "“nope” is not a network: write one per line, e.g. 13.108.0.0/14."
    ]


def test_the_test_page_labels_each_refusal_by_its_reason(client, admin_user, pipedrive):
    from apps.integrations.receiving import rejection_count

    rejection_count(vendor="pipedrive", reason="missing signature", connection=pipedrive)
    rejection_count(vendor="pipedrive", reason="unknown tenant")
    rejection_count(vendor="pipedrive", reason="malformed body")
    client.force_login(admin_user)

    page = client.get(reverse("admin:integrations_crmconnection_test", args=[pipedrive.pk]))

    rows = re.findall(r"<tr>\s*<td>([^<]*)</td>\s*<td>([^<]*)</td>", page.content.decode())
    assert sorted(rows) == [
        ("malformed body", "not known (malformed body before the tenant was read)"),
        ("missing signature", str(pipedrive)),
        ("unknown tenant", "unknown tenant"),
    ]
