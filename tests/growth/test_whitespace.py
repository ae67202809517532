"""The whitespace page: customers by product family, each cell owned, in an open deal,
suggested with its reason, or not a fit; filtered, paginated, exported as CSV."""

import csv
import datetime as dt
import io

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from apps.core import clock
from apps.customers.models import Account
from apps.growth.models import CrossSellRule
from apps.growth.services import usage_record_many
from apps.growth.suggestions import suggestions_for, suggestions_for_many
from tests.factories import (
    AccountFactory,
    DealFactory,
    DealLineItemFactory,
    ProductFactory,
    ProductFamilyFactory,
    UserFactory,
    won_deal,
)

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)
URL = "/growth/whitespace/"


@pytest.fixture
def catalog():
    platform = ProductFamilyFactory(name="Platform")
    analytics = ProductFamilyFactory(name="Analytics")
    ProductFamilyFactory(name="Support")
    ProductFactory(sku="PLAT", name="Platform seats", family=platform, list_price=1000)
    ProductFactory(sku="ANL", name="Analytics", family=analytics, list_price=400)
    CrossSellRule.objects.create(
        name="Platform → Analytics",
        owns_family=platform,
        suggest_family=analytics,
        reason="Platform customers who add Analytics renew more often.",
    )


@pytest.fixture
def frozen():
    with clock.frozen(NOW):
        yield


def customer(name: str, *, skus=("PLAT",), days_ago: int = 90, **fields) -> Account:
    account = AccountFactory(name=name, **fields)
    won_deal(account=account, close_date=(NOW - dt.timedelta(days=days_ago)).date(), skus=skus)
    return account


def open_deal(account: Account, sku: str, name: str):
    deal = DealFactory(account=account, name=name, stage="qualified", kind="expansion")
    DealLineItemFactory(deal=deal, product=ProductFactory._meta.model.objects.get(sku=sku))
    return deal


def grid(response) -> dict[str, dict[str, str]]:
    """Account name → family → cell state, as the page drew it."""
    return {
        row.account.name: {cell.family: str(cell.state) for cell in row.cells}
        for row in response.context["rows"]
    }


def csv_rows(response) -> list[dict[str, str]]:
    assert response["Content-Type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(response.content.decode())))


def test_each_cell_says_owned_open_deal_suggested_or_nothing(client, csm, catalog, frozen):
    customer("Globex")  # owns Platform: the rule suggests Analytics
    initech = customer("Initech")
    deal = open_deal(initech, "ANL", "Initech analytics")  # Analytics is being sold
    client.force_login(csm)

    response = client.get(URL)

    assert response.status_code == 200
    assert grid(response) == {
        "Globex": {"Analytics": "suggested", "Platform": "owned", "Support": "none"},
        "Initech": {"Analytics": "open_deal", "Platform": "owned", "Support": "none"},
    }
    page = response.content.decode()
    assert "Platform customers who add Analytics renew more often." in page
    assert f'href="{reverse("deals:deal_detail", args=[deal.pk])}"' in page
    assert "Initech analytics" in page


def test_usage_over_the_threshold_suggests_more_of_an_owned_family(client, csm, catalog, frozen):
    CrossSellRule.objects.all().delete()
    hooli = customer("Hooli")
    customer("Pied Piper")
    usage_record_many(
        items=[
            {
                "account": hooli.pk,
                "product": "PLAT",
                "measured_at": (NOW - dt.timedelta(days=1)).isoformat(),
                "licensed_units": 40,
                "used_units": 38,
            }
        ]
    )
    client.force_login(csm)

    response = client.get(URL)

    assert grid(response)["Hooli"]["Platform"] == "suggested"
    assert grid(response)["Pied Piper"]["Platform"] == "owned"
    [cell] = [c for c in response.context["rows"][0].cells if c.family == "Platform"]
    assert cell.owned
    assert cell.reason == (
        "Platform seats at 95.0 % of 40 licensed units (threshold 80 %): 10 more."
    )


def test_a_rule_for_older_customers_waits_until_the_account_is_one(client, csm, catalog, frozen):
    CrossSellRule.objects.update(min_customer_days=60)
    customer("Old customer", days_ago=90)
    customer("New customer", days_ago=10)
    client.force_login(csm)

    cells = grid(client.get(URL))

    assert cells["Old customer"]["Analytics"] == "suggested"
    assert cells["New customer"]["Analytics"] == "none"


def test_only_customers_are_listed(client, csm, catalog, frozen):
    customer("Globex")
    prospect = AccountFactory(name="Prospect Inc")
    open_deal(prospect, "PLAT", "First deal")
    client.force_login(csm)

    assert list(grid(client.get(URL))) == ["Globex"]


def test_filters_by_segment_csm_and_owner(client, csm, rep, catalog, frozen):
    other_csm = UserFactory(username="olga", role="CSM")
    customer("Globex", segment="Enterprise", csm=csm, owner=rep)
    customer("Initech", segment="Enterprise", csm=other_csm, owner=rep)
    customer("Hooli", segment="SMB", csm=csm)
    client.force_login(csm)

    assert list(grid(client.get(URL, {"segment": "Enterprise"}))) == ["Globex", "Initech"]
    assert list(grid(client.get(URL, {"csm": csm.username}))) == ["Globex", "Hooli"]
    assert list(grid(client.get(URL, {"owner": rep.username}))) == ["Globex", "Initech"]
    both = client.get(URL, {"segment": "Enterprise", "csm": csm.username})
    assert list(grid(both)) == ["Globex"]


def test_an_unknown_filter_value_is_an_error_not_ignored(client, csm, catalog, frozen):
    customer("Globex", segment="Enterprise")
    client.force_login(csm)

    response = client.get(URL, {"segment": "Nonexistent"})

    assert response.status_code == 400
    assert response.context["form"].errors["segment"]


def test_25_customers_a_page_and_the_filters_follow_the_pages(client, csm, catalog, frozen):
    for number in range(30):
        customer(f"Customer {number:02d}", segment="Enterprise")
    client.force_login(csm)

    first = client.get(URL, {"segment": "Enterprise"})
    second = client.get(URL, {"segment": "Enterprise", "page": 2})

    assert len(first.context["rows"]) == 25
    assert list(grid(second)) == [f"Customer {n:02d}" for n in range(25, 30)]
    assert "Page 1 of 2" in first.content.decode()
    assert 'href="?segment=Enterprise&amp;page=2"' in first.content.decode()


def test_csv_has_every_filtered_customer_and_a_column_per_family(client, csm, rep, catalog, frozen):
    for number in range(30):
        customer(f"Customer {number:02d}", segment="Enterprise", owner=rep)
    initech = customer("Initech", segment="Enterprise", owner=rep)
    deal = open_deal(initech, "ANL", "Initech analytics")
    customer("Elsewhere", segment="SMB")
    client.force_login(csm)

    response = client.get(URL, {"segment": "Enterprise", "format": "csv", "page": 2})

    rows = csv_rows(response)
    assert "attachment" in response["Content-Disposition"]
    assert len(rows) == 31  # every filtered customer, not one page
    assert list(rows[0]) == [
        "account_id",
        "account",
        "segment",
        "csm",
        "owner",
        "Analytics",
        "Platform",
        "Support",
    ]
    by_name = {row["account"]: row for row in rows}
    assert by_name["Customer 00"]["Analytics"] == (
        "suggested: Platform customers who add Analytics renew more often."
    )
    assert by_name["Customer 00"]["Platform"] == "owned"
    assert by_name["Customer 00"]["Support"] == ""
    assert by_name["Customer 00"]["owner"] == rep.get_full_name()
    assert by_name["Initech"]["Analytics"] == f"open deal: Initech analytics (#{deal.pk})"
    assert "Elsewhere" not in by_name


def test_csv_cells_never_start_a_spreadsheet_formula(client, csm, catalog, frozen):
    customer("=HYPERLINK(1)")
    client.force_login(csm)

    [row] = csv_rows(client.get(URL, {"format": "csv"}))

    assert row["account"] == "'=HYPERLINK(1)"


def test_people_without_access_to_deals_and_accounts_are_refused(client, outsider, catalog):
    customer("Globex")
    client.force_login(outsider)
    assert client.get(URL).status_code == 403
    assert client.get(URL, {"format": "csv"}).status_code == 403

    outsider.user_permissions.add(Permission.objects.get(codename="view_deal"))
    outsider = type(outsider).objects.get(pk=outsider.pk)  # fresh permission cache
    client.force_login(outsider)
    assert client.get(URL).status_code == 403  # deals alone are not enough


def test_logged_out_visitors_are_sent_to_log_in(client, catalog):
    response = client.get(URL)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_the_page_runs_the_same_queries_for_3_customers_as_for_25(
    client, csm, catalog, frozen, django_assert_max_num_queries
):
    def make(count: int, start: int) -> None:
        for number in range(start, start + count):
            account = customer(f"Customer {number:02d}", csm=csm, segment="Enterprise")
            open_deal(account, "ANL", f"Deal {number}")
            usage_record_many(
                items=[
                    {
                        "account": account.pk,
                        "product": "PLAT",
                        "measured_at": NOW.isoformat(),
                        "licensed_units": 10,
                        "used_units": 9,
                    }
                ]
            )

    client.force_login(csm)
    make(3, 0)
    client.get(URL)  # the first visit creates the viewer's profile
    with CaptureQueriesContext(connection) as few:
        client.get(URL)
    make(22, 3)
    with django_assert_max_num_queries(20), CaptureQueriesContext(connection) as many:
        response = client.get(URL)

    assert len(response.context["rows"]) == 25
    assert len(many) == len(few)


def test_suggestions_for_many_accounts_at_once(catalog, frozen):
    CrossSellRule.objects.create(
        name="Analytics → Support for enterprises",
        owns_family=ProductFamilyFactory(name="Analytics"),
        suggest_family=ProductFamilyFactory(name="Support"),
        min_tier="enterprise",
        reason="Enterprises with Analytics want support.",
    )
    ProductFactory(sku="SUP", name="Support", family=ProductFamilyFactory(name="Support"))
    accounts = [
        customer("Platform only"),
        customer("Both, mid-market", skus=("PLAT", "ANL")),
        customer("Both, enterprise", skus=("PLAT", "ANL"), tier="enterprise"),
        customer("Analytics busy"),
    ]
    open_deal(accounts[3], "ANL", "Busy")
    usage_record_many(
        items=[
            {
                "account": accounts[1].pk,
                "product": "ANL",
                "measured_at": NOW.isoformat(),
                "licensed_units": 10,
                "used_units": 10,
            }
        ]
    )

    batch = suggestions_for_many(accounts, now=NOW)

    # The rule for the first; usage at 100 % for the second (the enterprise rule does not
    # fit mid-market); the enterprise rule for the third; the open deal hides the fourth's.
    families = [[s.family for s in batch[account.pk]] for account in accounts]
    assert families == [["Analytics"], ["Analytics"], ["Support"], []]
    assert "at 100.0 % of 10 licensed units" in batch[accounts[1].pk][0].reason
    assert suggestions_for(accounts[1], now=NOW) == batch[accounts[1].pk]
