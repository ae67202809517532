"""Currencies are ISO 4217 codes, countries ISO 3166-1 alpha-2 codes and an account's
domain a host name: the API, the admin and the services refuse anything else, naming
the field."""

from decimal import Decimal

import pytest
from django.apps import apps
from django.urls import reverse
from rest_framework.test import APIClient

from apps.core.errors import ValidationFailed
from apps.core.migration_tools import codes_upper_cased
from apps.core.validators import country_codes
from apps.customers.models import Account, Product
from apps.customers.services import account_create, account_update
from apps.deals.models import Deal
from apps.deals.services import deal_close_won_blockers, deal_update
from apps.growth.models import RewardRule
from tests.deals.test_deal_update import admin_form as deal_admin_form
from tests.factories import AccountFactory, DealFactory

pytestmark = pytest.mark.django_db


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user=user)
    return client


@pytest.mark.parametrize("country", ["ZZ", "UK", "de", "DEU", "1A"])
def test_the_api_refuses_a_country_that_is_not_iso_3166(rep, country):
    response = client_for(rep).post(
        "/api/accounts/", {"name": "Initech", "country": country}, format="json"
    )

    assert response.status_code == 400
    assert list(response.json()) == ["country"]
    assert "ISO 3166-1 alpha-2" in response.json()["country"][0]
    assert not Account.objects.exists()


@pytest.mark.parametrize(
    "domain", ["https://initech.com", "initech.com/about", "initech.com:443", "init ech.com"]
)
def test_the_api_refuses_a_domain_that_is_not_a_host_name(rep, domain):
    response = client_for(rep).post(
        "/api/accounts/", {"name": "Initech", "domain": domain}, format="json"
    )

    assert response.status_code == 400
    assert list(response.json()) == ["domain"]
    assert "not a host name" in response.json()["domain"][0]


def test_the_api_takes_a_real_country_and_a_bare_domain(rep):
    response = client_for(rep).post(
        "/api/accounts/",
        {"name": "Initech", "country": "GB", "domain": "initech.co.uk"},
        format="json",
    )

    assert response.status_code == 201, response.json()
    assert Account.objects.get().domain == "initech.co.uk"


def test_the_account_services_refuse_bad_codes_naming_each_field():
    with pytest.raises(ValidationFailed) as refused:
        account_create(actor=None, name="Initech", country="XX", domain="http://initech.com")

    assert set(refused.value.errors) == {"country", "domain"}

    account = AccountFactory(country="DE")
    with pytest.raises(ValidationFailed) as refused:
        account_update(account=account, actor=None, country="EU")
    assert set(refused.value.errors) == {"country"}
    account.refresh_from_db()
    assert account.country == "DE"


def test_the_admin_shows_a_bad_country_next_to_the_field(client, admin_user):
    client.force_login(admin_user)

    response = client.post(
        reverse("admin:customers_account_add"),
        {
            "name": "Initech",
            "domain": "initech.com",
            "tier": "smb",
            "lifecycle_status": "prospect",
            "country": "ZZ",
            "timezone": "UTC",
            "contacts-TOTAL_FORMS": "0",
            "contacts-INITIAL_FORMS": "0",
            "contacts-MIN_NUM_FORMS": "0",
            "contacts-MAX_NUM_FORMS": "1000",
        },
    )

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert list(errors) == ["country"]
    assert not Account.objects.exists()


@pytest.mark.parametrize("currency", ["ABC", "usd", "EURO", "$"])
def test_the_api_refuses_a_deal_currency_that_is_not_iso_4217(rep, currency):
    deal = DealFactory(currency="USD")

    response = client_for(rep).patch(
        f"/api/deals/{deal.pk}/", {"currency": currency}, format="json"
    )

    assert response.status_code == 400
    assert list(response.json()) == ["currency"]
    deal.refresh_from_db()
    assert deal.currency == "USD"


def test_the_deal_service_and_the_close_refuse_an_unknown_currency(rep):
    deal = DealFactory(owner=rep, currency="USD", amount=Decimal("100"))
    with pytest.raises(ValidationFailed) as refused:
        deal_update(deal=deal, actor=rep, currency="ABC")
    assert set(refused.value.errors) == {"currency"}

    # A row written before the rule (or straight to the database) still cannot close.
    Deal.objects.filter(pk=deal.pk).update(currency="ABC")
    deal.refresh_from_db()
    blockers = deal_close_won_blockers(deal=deal, win_reason=None, win_notes="")
    assert blockers["currency"] == ["“ABC” is not an ISO 4217 currency code (for example EUR)."]


def test_the_deal_admin_refuses_an_unknown_currency(client, admin_user):
    deal = DealFactory(currency="USD")
    client.force_login(admin_user)

    response = client.post(
        reverse("admin:deals_deal_change", args=[deal.pk]), deal_admin_form(deal, currency="XYZ")
    )

    assert response.status_code == 200
    assert "ISO 4217" in response.context["adminform"].form.errors["currency"][0]


def test_product_and_reward_rule_currencies_are_iso_4217(client, admin_user):
    client.force_login(admin_user)

    response = client.post(
        reverse("admin:growth_rewardrule_add"),
        {"name": "Thanks", "kind": "fixed", "amount": "50", "currency": "BTC", "active": "on"},
    )

    assert response.status_code == 200
    assert "ISO 4217" in response.context["adminform"].form.errors["currency"][0]
    assert not RewardRule.objects.exists()
    assert "currency" in _full_clean_errors(
        Product(sku="X", name="X", family_id=1, list_price=1, currency="ABC")
    )
    assert "currency" not in _full_clean_errors(
        Product(sku="X", name="X", family_id=1, list_price=1, currency="JPY")
    )


def _full_clean_errors(instance) -> dict:
    from django.core.exceptions import ValidationError

    try:
        instance.full_clean(validate_unique=False, validate_constraints=False)
    except ValidationError as exc:
        return exc.message_dict
    return {}


def test_rows_written_before_validation_are_upper_cased_where_that_makes_a_code():
    fixable, unknown, fine = (AccountFactory(name=name) for name in ("a", "b", "c"))
    Account.objects.filter(pk=fixable.pk).update(country="de")
    Account.objects.filter(pk=unknown.pk).update(country="XX")
    Account.objects.filter(pk=fine.pk).update(country="FR")

    migration = codes_upper_cased("customers", "Account", "country", country_codes)
    migration.code(apps, None)
    migration.code(apps, None)  # a second run changes nothing more

    countries = dict(Account.objects.values_list("name", "country"))
    assert countries == {"a": "DE", "b": "XX", "c": "FR"}  # XX is kept, not guessed
