"""The account list's CSV: every account the filters select (not only the page),
streamed, with ARR, renewal and health; a cell a spreadsheet would run is text."""

import csv
import datetime as dt
import io

import pytest
from django.urls import reverse

from tests.factories import AccountFactory
from tests.workspace.conftest import contract, health

pytestmark = pytest.mark.django_db


def test_the_csv_holds_every_filtered_account(client, csm, now):
    for number in range(35):
        AccountFactory(name=f"Retail {number:02d}", segment="Retail")
    AccountFactory(name="Other", segment="Energy")
    acme = AccountFactory(name="=HYPERLINK(1)", segment="Retail")
    contract(acme, amount="12000", close_date=dt.date(2026, 2, 1))
    health(acme, score=55, band="yellow")
    client.force_login(csm)

    response = client.get(
        reverse("workspace:account_list"),
        {"segment": "Retail", "per_page": "10", "page": "2", "format": "csv"},
    )

    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][:2] == ["Account", "Domain"]
    assert len(rows) == 1 + 36
    assert "Other" not in [row[0] for row in rows]
    acme_row = next(row for row in rows if "HYPERLINK" in row[0])
    assert acme_row[0] == "'=HYPERLINK(1)"
    assert acme_row[-4:] == ["12,000.00 USD", "2027-02-01", "Yellow", "55"]


def test_a_bad_filter_exports_nothing(client, csm, now):
    client.force_login(csm)

    response = client.get(reverse("workspace:account_list"), {"tier": "gold", "format": "csv"})

    assert response.status_code == 400
    assert not response.streaming
