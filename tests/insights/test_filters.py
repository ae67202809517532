"""The insights pages' filters: a period and a segment narrow every table; a bad value is
a 400 that names the field, on the page and on the CSV download."""

import datetime as dt

import pytest
from django.urls import reverse

from tests.factories import UserFactory, closed_deal

pytestmark = pytest.mark.django_db

PAGES = ("insights:deals", "insights:onboarding", "insights:growth")


@pytest.fixture
def leader(client):
    client.force_login(UserFactory(username="sam", role="Sales Manager"))
    return client


@pytest.fixture
def deals():
    oct_ = dt.datetime(2026, 10, 5, 12, 0, tzinfo=dt.UTC)
    closed_deal(won=True, closed_at=oct_, segment="Retail", reason="Product fit")
    closed_deal(won=True, closed_at=oct_, segment="Software", reason="Integrations")
    closed_deal(
        won=False,
        closed_at=dt.datetime(2026, 3, 5, tzinfo=dt.UTC),
        segment="Retail",
        reason="Price",
    )


def _reason_rows(response):
    return {(row[0], row[1]) for row in response.context["tables"][2]["rows"]}


def test_the_segment_filter_narrows_the_win_reasons(leader, deals):
    everything = leader.get(reverse("insights:deals"))
    assert _reason_rows(everything) == {("Retail", "Product fit"), ("Software", "Integrations")}
    retail = leader.get(reverse("insights:deals"), {"segment": "Retail"})
    assert retail.status_code == 200
    assert _reason_rows(retail) == {("Retail", "Product fit")}


def test_the_period_narrows_the_summary(leader, deals):
    response = leader.get(reverse("insights:deals"), {"since": "2026-09-01", "until": "2026-12-31"})
    assert (response.context["summary"]["won"], response.context["summary"]["lost"]) == (2, 0)


def test_the_breakdown_can_be_chosen(leader, deals):
    response = leader.get(reverse("insights:deals"), {"by": "quarter"})
    assert _reason_rows(response) == {("2026 Q4", "Product fit"), ("2026 Q4", "Integrations")}
    assert "Win reasons by quarter" in response.content.decode()


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"since": "yesterday"}, "since"),
        ({"until": "2026-13-01"}, "until"),
        ({"since": "2026-12-01", "until": "2026-11-01"}, "until"),
        ({"segment": "Nowhere"}, "segment"),
        ({"by": "colour"}, "by"),
    ],
)
def test_a_bad_filter_is_a_400_naming_the_field(leader, deals, query, field):
    for name in PAGES:
        response = leader.get(reverse(name), query)
        assert response.status_code == 400, name
        assert response.context["form"].errors.keys() == {field}
        assert (
            'aria-invalid="true"' in response.content.decode()
            or "error" in response.content.decode()
        )
    export = leader.get(reverse("insights:export", args=["win-reasons"]), query)
    assert export.status_code == 400
    assert export.content.decode().startswith(f"{field}:")


def test_an_unknown_table_is_a_404(leader):
    assert leader.get(reverse("insights:export", args=["nothing"])).status_code == 404
