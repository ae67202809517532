"""A connection's default CSM: the accounts a CRM brings in, and accounts without a CSM
whose deal is won through it, get a person, so their onboarding has one."""

import pytest
from django.urls import reverse

from apps.core.errors import ValidationFailed
from apps.customers.models import Account
from apps.deals.models import Deal
from apps.integrations.models import CrmConnection
from apps.integrations.services import connection_update
from apps.queues.models import Task
from tests.factories import UserFactory
from tests.integrations.conftest import connect, fixture_json, playbook_started, work
from tests.integrations.test_admin import form_data
from tests.integrations.test_pipedrive import deliver, organization_and_person


@pytest.fixture
def cora(db):
    return UserFactory(username="cora", first_name="Cora", last_name="Diaz", role="CSM")


def pipedrive(world, **fields):
    return connect(
        "pipedrive",
        world,
        tenant_id="12882925",
        basic_auth_username="afterwin",
        secret="s3cret-passw0rd",
        **fields,
    )


def test_accounts_taken_in_from_the_crm_get_the_default_csm_and_their_kickoff(client, world, cora):
    pipedrive(world, default_csm=cora)
    organization_and_person(client)
    assert Account.objects.get().csm == cora

    deliver(client, fixture_json("pipedrive_v2_deal_won.json"))
    work()
    deal = Deal.objects.get()
    assert playbook_started(deal)
    assert Task.objects.get(deal=deal).assignee == cora


def test_an_account_without_a_csm_gets_the_default_one_when_its_deal_is_won(client, world, cora):
    connection = pipedrive(world)
    organization_and_person(client)
    assert Account.objects.get().csm is None

    connection_update(connection=connection, default_csm=cora)
    deliver(client, fixture_json("pipedrive_v2_deal_won.json"))
    work()
    assert Account.objects.get().csm == cora


def test_an_account_keeps_the_csm_it_has(client, world, cora):
    connection = pipedrive(world)
    organization_and_person(client)
    dana = UserFactory(username="dana", role="CSM")
    Account.objects.update(csm=dana)

    connection_update(connection=connection, default_csm=cora)
    deliver(client, fixture_json("pipedrive_v2_deal_won.json"))
    work()
    assert Account.objects.get().csm == dana


def test_the_default_csm_must_have_the_csm_role(world, cora):
    with pytest.raises(ValidationFailed) as refused:
        pipedrive(world, default_csm=world.rep)
    assert "not an active user with the CSM role" in refused.value.errors["default_csm"][0]

    connection = pipedrive(world, default_csm=cora)
    cora.is_active = False
    cora.save()
    with pytest.raises(ValidationFailed) as refused:
        connection_update(connection=connection, name="Renamed")
    assert "default_csm" in refused.value.errors


def test_the_admin_offers_only_csms_and_saves_the_one_chosen(client, admin_user, world, cora):
    client.force_login(admin_user)
    url = reverse("admin:integrations_crmconnection_add")
    page = client.get(url).content.decode()
    assert f'<option value="{cora.pk}">' in page
    assert f'<option value="{world.rep.pk}">' not in page

    refused = client.post(url, form_data(world, secret="pw", default_csm=world.rep.pk))
    assert refused.status_code == 200 and "default_csm" in refused.content.decode()

    added = client.post(url, form_data(world, secret="pw", default_csm=cora.pk))
    assert added.status_code == 302
    assert CrmConnection.objects.get().default_csm == cora
