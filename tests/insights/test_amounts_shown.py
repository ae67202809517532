"""The insights page writes amounts as the deal pages do (906,700.00); the CSV of the same
table keeps the plain number a spreadsheet reads."""

import datetime as dt

import pytest
from django.urls import reverse

from tests.factories import UserFactory, closed_deal

pytestmark = pytest.mark.django_db

OCT = dt.datetime(2026, 10, 5, 12, 0, tzinfo=dt.UTC)


def test_amounts_on_the_page_have_thousands_separators_and_the_csv_does_not(client):
    client.force_login(UserFactory(username="mona", role="CS Manager"))
    closed_deal(won=True, closed_at=OCT, amount="906700.00")

    page = client.get(reverse("insights:deals")).content.decode()
    export = b"".join(client.get(reverse("insights:export", args=["amounts"])).streaming_content)

    assert "<td>906,700.00</td>" in page
    assert "906700.00" not in page
    assert b"906700.00" in export
    assert b"906,700" not in export
