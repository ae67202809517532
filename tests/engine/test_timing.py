"""Step timing in the account's local time: DST, business days, holidays, send windows."""

import datetime as dt
import zoneinfo

import pytest

from apps.core.step_kinds import StepDefinition
from apps.engine.models import CompanyHoliday
from apps.engine.timing import Calendar, step_due_at
from tests.factories import AccountFactory

pytestmark = pytest.mark.django_db
BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")
NEW_YORK = zoneinfo.ZoneInfo("America/New_York")


def due(step, base, *, tz="Europe/Berlin", country="DE"):
    calendar = Calendar.for_account(AccountFactory(timezone=tz, country=country))
    definition = StepDefinition.from_snapshot({"key": "s", "kind": "task", **step})
    return step_due_at(step=definition, base=base, calendar=calendar)


def test_day_30_at_10_is_10_local_across_the_dst_change():
    base = dt.datetime(2026, 10, 10, 8, 0, tzinfo=dt.UTC)  # 10:00 CEST in Berlin
    result = due({"delay_days": 30, "at_time": "10:00"}, base).astimezone(BERLIN)
    assert (result.date(), result.hour, result.minute) == (dt.date(2026, 11, 9), 10, 0)
    assert result.utcoffset() == dt.timedelta(hours=1)  # CET by then


def test_calendar_days_keep_the_local_wall_clock_time():
    base = dt.datetime(2026, 3, 1, 14, 30, tzinfo=NEW_YORK)  # before the March DST change
    result = due({"delay_days": 14}, base, tz="America/New_York", country="US")
    local = result.astimezone(NEW_YORK)
    assert (local.date(), local.hour, local.minute) == (dt.date(2026, 3, 15), 14, 30)


def test_business_days_skip_weekends_and_public_holidays():
    # Thursday 24 Dec 2026; 25 and 26 Dec are German public holidays, 27 is a Sunday.
    base = dt.datetime(2026, 12, 24, 9, 0, tzinfo=BERLIN)
    result = due({"delay_days": 1, "business_days": True}, base).astimezone(BERLIN)
    assert result.date() == dt.date(2026, 12, 28)


def test_business_days_skip_company_holidays_for_matching_countries():
    CompanyHoliday.objects.create(
        date=dt.date(2026, 12, 28), name="Office closed", countries=["DE"]
    )
    base = dt.datetime(2026, 12, 24, 9, 0, tzinfo=BERLIN)
    assert due({"delay_days": 1, "business_days": True}, base).astimezone(BERLIN).date() == (
        dt.date(2026, 12, 29)
    )
    # A US account is not affected by a German office closure.
    ny_base = dt.datetime(2026, 12, 24, 9, 0, tzinfo=NEW_YORK)
    result = due(
        {"delay_days": 1, "business_days": True}, ny_base, tz="America/New_York", country="US"
    )
    assert result.astimezone(NEW_YORK).date() == dt.date(2026, 12, 28)


@pytest.mark.parametrize(
    ("local_time", "expected"),
    [
        (dt.datetime(2026, 11, 24, 11, 0), dt.datetime(2026, 11, 24, 11, 0)),  # inside
        (dt.datetime(2026, 11, 24, 6, 0), dt.datetime(2026, 11, 24, 9, 0)),  # too early
        (dt.datetime(2026, 11, 24, 18, 0), dt.datetime(2026, 11, 25, 9, 0)),  # too late
        (dt.datetime(2026, 11, 27, 19, 0), dt.datetime(2026, 11, 30, 9, 0)),  # Friday night
        # Saturday noon: the next business day, keeping its time of day
        (dt.datetime(2026, 11, 28, 12, 0), dt.datetime(2026, 11, 30, 12, 0)),
    ],
)
def test_send_window_moves_customer_emails_into_local_working_hours(local_time, expected):
    step = {"window_start": "09:00", "window_end": "17:00"}
    result = due(step, local_time.replace(tzinfo=BERLIN)).astimezone(BERLIN)
    assert result.replace(tzinfo=None) == expected
