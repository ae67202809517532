"""Creating and editing accounts through the services: only what changed is saved, every
problem is named by field, churning hands on to the lifecycle service, and the API and
admin go the same way."""

import pytest
from rest_framework.test import APIClient

from apps.core.errors import NotPermitted, ValidationFailed
from apps.core.models import DomainEvent
from apps.customers.models import Account
from apps.customers.services import account_create, account_update
from tests.factories import AccountFactory

pytestmark = pytest.mark.django_db


def test_two_people_editing_different_fields_keep_both_changes(rep, cs_manager):
    account = AccountFactory(name="Initech", timezone="Europe/Berlin", segment="manufacturing")
    first, second = Account.objects.get(pk=account.pk), Account.objects.get(pk=account.pk)

    account_update(account=first, actor=rep, segment="retail")
    account_update(account=second, actor=cs_manager, timezone="Asia/Tokyo")

    stored = Account.objects.get(pk=account.pk)
    assert (stored.segment, stored.timezone) == ("retail", "Asia/Tokyo")


def test_a_bad_time_zone_and_country_are_refused_by_field_and_nothing_is_saved(rep):
    account = AccountFactory(name="Initech", country="DE")

    with pytest.raises(ValidationFailed) as refused:
        account_update(
            account=account, actor=rep, name="Initrode", timezone="Mars/Base", country="de"
        )

    assert set(refused.value.errors) == {"timezone", "country"}
    assert Account.objects.get(pk=account.pk).name == "Initech"


def test_someone_without_permission_may_not_create_or_change_accounts(outsider):
    account = AccountFactory(name="Initech")

    with pytest.raises(NotPermitted):
        account_update(account=account, actor=outsider, name="Initrode")
    with pytest.raises(NotPermitted):
        account_create(actor=outsider, name="Globex")

    assert list(Account.objects.values_list("name", flat=True)) == ["Initech"]


def test_renaming_and_churning_through_the_api_saves_both_and_announces_the_churn(cs_manager):
    account = AccountFactory(name="Initech", lifecycle_status=Account.Lifecycle.ACTIVE)
    client = APIClient()
    client.force_authenticate(cs_manager)

    response = client.patch(
        f"/api/accounts/{account.pk}/",
        {"name": "Initrode", "lifecycle_status": "churned"},
        format="json",
    )

    assert response.status_code == 200
    assert (response.json()["name"], response.json()["lifecycle_status"]) == ("Initrode", "churned")
    stored = Account.objects.get(pk=account.pk)
    assert (stored.name, stored.lifecycle_status) == ("Initrode", "churned")
    assert DomainEvent.objects.filter(name="account.churned", aggregate_id=account.pk).count() == 1


def test_admin_adds_an_account_through_the_service(client, admin_user):
    client.force_login(admin_user)

    response = client.post(
        "/admin/customers/account/add/",
        {
            "name": "Globex",
            "tier": "enterprise",
            "lifecycle_status": "onboarding",
            "country": "US",
            "timezone": "America/Chicago",
            "contacts-TOTAL_FORMS": "1",
            "contacts-INITIAL_FORMS": "0",
            "contacts-MIN_NUM_FORMS": "0",
            "contacts-MAX_NUM_FORMS": "1000",
            "contacts-0-name": "Hank Scorpio",
            "contacts-0-email": "hank@globex.test",
            "contacts-0-is_primary": "on",
        },
    )

    assert response.status_code == 302, response.context["adminform"].form.errors
    account = Account.objects.get(name="Globex")
    assert (account.tier, account.timezone) == ("enterprise", "America/Chicago")
    assert account.contacts.get().name == "Hank Scorpio"
