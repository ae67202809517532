"""My deals: the pipeline by stage with counts and amounts, for the people who sell."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from apps.deals.selectors import PIPELINE_STAGES
from tests.factories import AccountFactory, DealFactory, UserFactory

pytestmark = pytest.mark.django_db

PIPELINE = reverse("deals:pipeline")


def deals_for(owner, count: int, **fields) -> list:
    return [DealFactory(owner=owner, **fields) for _ in range(count)]


def section(page: str, stage: str) -> str:
    """The HTML of one stage's section."""
    start = page.index(f'id="stage-{stage}"')
    end = page.find('<section class="section pipeline-section"', start + 1)
    return page[start : end if end != -1 else len(page)]


def test_a_rep_sees_their_own_deals_by_stage_with_totals(client, rep, other_rep):
    DealFactory(owner=rep, name="Globex", stage="new", amount=Decimal("1000"))
    DealFactory(owner=rep, name="Initech", stage="new", amount=Decimal("500"), currency="EUR")
    DealFactory(owner=rep, name="Umbrella", stage="closed_won", amount=Decimal("700"))
    DealFactory(owner=other_rep, name="Hooli", stage="new", amount=Decimal("9999"))
    client.force_login(rep)

    response = client.get(PIPELINE)

    assert response.status_code == 200
    page = response.content.decode()
    assert "<h1>My deals</h1>" in page
    new = section(page, "new")
    assert "Globex" in new and "Initech" in new and "Hooli" not in page
    assert "Umbrella" in section(page, "closed_won")
    totals = page[page.index('class="pipeline-totals"') : page.index("</ol>")]
    assert "2 deals" in totals and "500.00 EUR · 1,000.00 USD" in totals
    assert "700.00 USD" in totals
    # Open stages first, then won and lost.
    order = [page.index(f'id="stage-{stage}"') for stage in PIPELINE_STAGES]
    assert order == sorted(order)


def test_a_rep_may_not_list_everyones_deals(client, rep, other_rep):
    DealFactory(owner=other_rep, name="Hooli")
    client.force_login(rep)

    response = client.get(PIPELINE, {"scope": "all"})

    assert response.status_code == 400
    page = response.content.decode()
    assert 'id="id_scope_error"' in page
    assert "Hooli" not in page


@pytest.mark.parametrize("role", ["Sales Manager", "CS Manager", "Admin"])
def test_those_who_act_on_any_deal_see_everyones_by_default_and_their_own_on_request(
    client, rep, role
):
    viewer = UserFactory(username="viewer", role=role)
    DealFactory(owner=rep, name="Globex")
    DealFactory(owner=viewer, name="Initech")
    client.force_login(viewer)

    everyone = client.get(PIPELINE).content.decode()
    assert "Globex" in everyone and "Initech" in everyone
    mine = client.get(PIPELINE, {"scope": "mine"}).content.decode()
    assert "Globex" not in mine and "Initech" in mine


def test_filters_by_stage_close_dates_and_name(client, rep):
    account = AccountFactory(name="Wayne Enterprises")
    DealFactory(owner=rep, name="Batcave", account=account, close_date=dt.date(2026, 3, 1))
    DealFactory(owner=rep, name="Globex", close_date=dt.date(2026, 5, 1))
    DealFactory(owner=rep, name="Early", close_date=dt.date(2025, 1, 1))
    DealFactory(owner=rep, name="Fresh", stage="new", close_date=dt.date(2026, 3, 1))
    client.force_login(rep)

    def names(**params) -> set[str]:
        page = client.get(PIPELINE, params).content.decode()
        return {n for n in ("Batcave", "Globex", "Early", "Fresh") if f">{n}</a>" in page}

    assert names(stage="negotiation") == {"Batcave", "Globex", "Early"}
    assert names(close_from="2026-01-01", close_to="2026-04-01") == {"Batcave", "Fresh"}
    assert names(search="wayne") == {"Batcave"}
    assert names(search="glob", stage="negotiation") == {"Globex"}


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"close_from": "2026-05-01", "close_to": "2026-01-01"}, "close_to"),
        ({"close_from": "tomorrow"}, "close_from"),
        ({"stage": "won"}, "stage"),
        ({"search": "a\x00b"}, "search"),
    ],
)
def test_bad_filters_are_a_400_naming_the_field(client, rep, params, field):
    client.force_login(rep)

    response = client.get(PIPELINE, params)

    assert response.status_code == 400
    assert f'id="id_{field}_error"' in response.content.decode()


def test_each_stage_is_paginated(client, rep):
    deals_for(rep, 30, stage="proposal")
    client.force_login(rep)

    first = client.get(PIPELINE).content.decode()
    assert section(first, "proposal").count('class="task-link"') == 25
    assert "proposal_page=2" in first
    second = client.get(PIPELINE, {"proposal_page": 2}).content.decode()
    assert section(second, "proposal").count('class="task-link"') == 5


def test_the_page_runs_the_same_queries_for_six_deals_or_sixty(client, rep):
    """One query for the totals and one per stage, whatever the number of deals."""
    client.force_login(rep)
    for stage in PIPELINE_STAGES:
        DealFactory(owner=rep, stage=stage, amount=Decimal("10"))
    client.get(PIPELINE)  # warm the permission and content-type caches
    with CaptureQueriesContext(connection) as few:
        assert client.get(PIPELINE).status_code == 200

    for stage in PIPELINE_STAGES:
        deals_for(rep, 10, stage=stage, amount=Decimal("10"), account=AccountFactory())
    with CaptureQueriesContext(connection) as many:
        assert client.get(PIPELINE).status_code == 200

    assert len(many) == len(few)
    assert len(many) <= 14


def test_the_top_bar_links_deals_for_the_people_who_sell(client, rep, csm, sales_manager):
    link = f'href="{PIPELINE}"'
    for person, shown in [(rep, True), (sales_manager, True), (csm, False)]:
        client.force_login(person)
        page = client.get(reverse("notifications:list")).content.decode()
        assert (link in page) is shown, person.username


def test_logged_out_visitors_are_sent_to_log_in(client):
    response = client.get(PIPELINE)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
