"""Every insights table downloads as CSV with the page's filters: the same headings and
rows the page shows, streamed."""

import csv
import datetime as dt
import io

import pytest
from django.urls import reverse

from apps.insights.tables import TABLES
from tests.factories import UserFactory, closed_deal

pytestmark = pytest.mark.django_db

OCT = dt.datetime(2026, 10, 5, 12, 0, tzinfo=dt.UTC)


@pytest.fixture
def leader(client):
    client.force_login(UserFactory(username="mona", role="CS Manager"))
    return client


def download(client, slug, **query):
    response = client.get(reverse("insights:export", args=[slug]), query)
    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == f'attachment; filename="{slug}.csv"'
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_the_win_reasons_of_a_segment(leader):
    closed_deal(won=True, closed_at=OCT, segment="Retail", reason="Product fit")
    closed_deal(won=True, closed_at=OCT, segment="Retail", reason="Product fit")
    closed_deal(won=True, closed_at=OCT, segment="Retail", reason="Price")
    closed_deal(won=True, closed_at=OCT, segment="Software", reason="Price")
    assert download(leader, "win-reasons", segment="Retail") == [
        ["Segment", "Win reason", "Deals", "Share %"],
        ["Retail", "Product fit", "2", "66.7"],
        ["Retail", "Price", "1", "33.3"],
    ]
    by_quarter = download(leader, "win-reasons", by="quarter")
    assert by_quarter[0][0] == "Quarter"
    assert by_quarter[1:] == [
        ["2026 Q4", "Price", "2", "50.0"],
        ["2026 Q4", "Product fit", "2", "50.0"],
    ]


def test_the_summary_and_amounts(leader):
    closed_deal(won=True, closed_at=OCT, days=10, amount="1000.00")
    closed_deal(won=False, closed_at=OCT, days=20, amount="250.00")
    assert download(leader, "summary") == [
        ["Won", "Lost", "Win rate %", "Sales cycle, won (days)", "Sales cycle, lost (days)"],
        ["1", "1", "50.0", "10.0", "20.0"],
    ]
    assert download(leader, "amounts") == [
        ["Currency", "Won amount", "Lost amount", "Average won deal"],
        ["USD", "1000.00", "250.00", "1000.00"],
    ]


@pytest.mark.parametrize("slug", list(TABLES))
def test_every_table_downloads_with_its_headings(leader, slug):
    rows = download(leader, slug)
    headings = [heading for heading, _ in TABLES[slug].columns]
    if TABLES[slug].by_group:
        headings[0] = "Segment"
    assert rows[0] == headings


def test_every_table_on_a_page_links_to_its_download_with_the_filters(leader):
    page = leader.get(reverse("insights:deals"), {"segment": "", "by": "rep"}).content.decode()
    for slug in ("summary", "amounts", "win-reasons", "loss-reasons"):
        assert f"{reverse('insights:export', args=[slug])}?segment=&amp;by=rep" in page
