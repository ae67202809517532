"""Usage snapshots uploaded as CSV in the admin: all rows or none, errors by the file's
line numbers, bad files refused, and only for those who may add snapshots."""

import datetime as dt

import pytest
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from apps.core.models import DomainEvent
from apps.growth.models import UsageSnapshot
from tests.factories import AccountFactory, ProductFactory

pytestmark = pytest.mark.django_db

HEADER = "account,product,measured_at,licensed_units,used_units\n"
T0 = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def upload_url():
    return reverse("admin:growth_usagesnapshot_upload")


@pytest.fixture
def globex():
    return AccountFactory(name="Globex")


@pytest.fixture
def seats():
    return ProductFactory(sku="SEATS")


def csv_file(text: str, name: str = "usage.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, text.encode(), content_type="text/csv")


def post(client, url, upload):
    return client.post(url, {"file": upload})


def test_the_changelist_offers_the_upload_to_those_who_may_add_snapshots(
    client, admin_user, cs_manager, upload_url
):
    changelist = reverse("admin:growth_usagesnapshot_changelist")
    client.force_login(admin_user)
    assert upload_url in client.get(changelist).content.decode()

    client.force_login(cs_manager)  # may read snapshots, not add them
    response = client.get(changelist)
    assert response.status_code == 200
    assert upload_url not in response.content.decode()


def test_an_upload_stores_every_row_and_says_what_happened(
    client, admin_user, upload_url, globex, seats
):
    client.force_login(admin_user)
    rows = (
        f"{globex.pk},SEATS,2026-11-02T09:00:00Z,100,50\n"
        f"{globex.pk},{seats.pk},2026-11-03T09:00:00+01:00,100,85\n"  # the product by id
        f"{globex.pk},SEATS,2026-11-04T09:00:00Z,100,90\n"
    )

    response = post(client, upload_url, csv_file(HEADER + rows))

    assert response.status_code == 302
    assert response["Location"] == reverse("admin:growth_usagesnapshot_changelist")
    assert [str(m) for m in get_messages(response.wsgi_request)] == [
        "3 stored, 0 duplicates, 1 threshold crossings."
    ]
    assert list(
        UsageSnapshot.objects.order_by("measured_at").values_list("used_units", "crossed")
    ) == [(50, False), (85, True), (90, False)]
    assert UsageSnapshot.objects.get(used_units=85).measured_at == T0 + dt.timedelta(hours=23)
    assert DomainEvent.objects.filter(name="account.usage_threshold_crossed").count() == 1

    again = post(client, upload_url, csv_file(HEADER + rows))

    assert [str(m) for m in get_messages(again.wsgi_request)][-1] == (
        "0 stored, 3 duplicates, 0 threshold crossings."
    )
    assert UsageSnapshot.objects.count() == 3


def test_a_spreadsheet_export_with_a_byte_order_mark_and_spaces_is_read(
    client, admin_user, upload_url, globex
):
    ProductFactory(sku="SEATS")
    client.force_login(admin_user)
    text = (
        "\ufeffAccount , Product,measured_at,licensed_units,used_units,notes\r\n"
        f"{globex.pk}, SEATS ,2026-11-02T09:00:00Z,10,2,ignored\r\n"
    )

    response = post(client, upload_url, csv_file(text))

    assert response.status_code == 302
    assert UsageSnapshot.objects.get().used_units == 2


def test_row_errors_are_listed_by_line_and_column_and_nothing_is_stored(
    client, admin_user, upload_url, globex, seats
):
    client.force_login(admin_user)
    text = (
        HEADER
        + f"{globex.pk},SEATS,2026-11-02T09:00:00Z,100,50\n"  # line 2: fine
        + "\n"  # line 3: blank, skipped
        + "999999,SEATS,2026-11-03T09:00:00Z,100,50\n"  # line 4: no such account
        + f"{globex.pk},NOPE,2026-11-04T09:00:00,100,ten\n"  # line 5: three problems
    )

    response = post(client, upload_url, csv_file(text))

    assert response.status_code == 400
    assert [(e.line, e.field) for e in response.context["line_errors"]] == [
        (4, "account"),
        (5, "product"),
        (5, "measured_at"),
        (5, "used_units"),
    ]
    assert response.context["line_errors"][2].message == (
        "Include the time zone, e.g. 2026-11-30T09:00:00Z."
    )
    page = response.content.decode()
    assert "Nothing was stored" in page
    assert "There is no account with id &#x27;999999&#x27;." in page
    assert not UsageSnapshot.objects.exists()
    assert not DomainEvent.objects.filter(name="account.usage_threshold_crossed").exists()


def test_line_numbers_follow_the_file_when_a_cell_spans_lines(
    client, admin_user, upload_url, globex, seats
):
    client.force_login(admin_user)
    text = (
        "product,account,measured_at,licensed_units,used_units,comment\n"
        f'SEATS,{globex.pk},2026-11-02T09:00:00Z,100,50,"two\nlines"\n'
        f"SEATS,{globex.pk},2026-11-03T09:00:00Z,-1,50,\n"
    )

    response = post(client, upload_url, csv_file(text))

    assert [(e.line, e.field) for e in response.context["line_errors"]] == [(4, "licensed_units")]


def rows(count: int, account_id: int) -> str:
    return "".join(
        f"{account_id},SEATS,{(T0 + dt.timedelta(hours=n)).isoformat()},100,1\n"
        for n in range(count)
    )


@pytest.mark.parametrize(
    ("name", "content", "says"),
    [
        ("usage.xlsx", b"PK\x03\x04 a zip archive", "is not a CSV file"),
        ("usage.csv", b"\xff\xfe\x00a\x00c\x00c\xd8\x00", "cannot be read as UTF-8"),
        ("usage.csv", b"account,product\x00,x\n", "binary data"),
        ("usage.csv", b"", "The submitted file is empty."),
        ("usage.csv", b"\n\n", "The file is empty"),
        ("usage.csv", HEADER.encode(), "a header but no rows"),
        (
            "usage.csv",
            b"account,product,measured_at\n1,SEATS,2026-11-02T09:00:00Z\n",
            "lacks the columns licensed_units, used_units",
        ),
        (
            "usage.csv",
            b"account;product;measured_at;licensed_units;used_units\n",
            "separated by commas",
        ),
        ("usage.csv", "too many", "more than 1000 rows"),
    ],
)
def test_a_file_that_is_not_usage_csv_is_refused_with_the_reason(
    client, admin_user, upload_url, globex, seats, name, content, says
):
    if content == "too many":
        content = (HEADER + rows(1001, globex.pk)).encode()
    client.force_login(admin_user)

    response = post(client, upload_url, SimpleUploadedFile(name, content))

    assert response.status_code == 400
    assert says in " ".join(response.context["form"].errors["file"])
    assert says in response.content.decode()
    assert not UsageSnapshot.objects.exists()


def test_1000_rows_are_accepted(client, admin_user, upload_url, globex, seats):
    client.force_login(admin_user)

    response = post(client, upload_url, csv_file(HEADER + rows(1000, globex.pk)))

    assert response.status_code == 302
    assert UsageSnapshot.objects.count() == 1000


def test_staff_who_may_not_add_snapshots_are_refused(client, cs_manager, upload_url, globex, seats):
    client.force_login(cs_manager)
    text = HEADER + f"{globex.pk},SEATS,2026-11-02T09:00:00Z,100,50\n"

    assert client.get(upload_url).status_code == 403
    assert post(client, upload_url, csv_file(text)).status_code == 403
    assert not UsageSnapshot.objects.exists()


def test_people_outside_the_admin_are_sent_to_its_log_in(client, csm, upload_url):
    client.force_login(csm)  # not staff

    response = client.get(upload_url)

    assert response.status_code == 302
    assert reverse("admin:login") in response["Location"]
