"""When a step is due, computed in the account's local time.

Everything is stored in UTC; offsets are applied to the account's wall clock (zoneinfo),
so "day 30 at 10:00" is 10:00 for the customer whatever DST did in between. Business
days skip weekends, the account country's public holidays (``holidays``) and company
holidays entered in admin.
"""

import datetime as dt
import functools
import zoneinfo
from dataclasses import dataclass
from typing import Any

import holidays as public_holidays

from apps.engine.models import CompanyHoliday

UTC = dt.UTC


@functools.lru_cache(maxsize=512)
def _public_holidays(country: str, year: int) -> frozenset[dt.date]:
    try:
        return frozenset(public_holidays.country_holidays(country, years=year).keys())
    except NotImplementedError:  # a country the package does not know: weekends only
        return frozenset()


@dataclass
class Calendar:
    """A working calendar for one account: its zone, its country, company holidays."""

    tz: zoneinfo.ZoneInfo
    country: str
    company_days: frozenset[dt.date]

    @classmethod
    def for_account(cls, account: Any) -> "Calendar":
        return cls.for_place(timezone=account.timezone, country=account.country)

    @classmethod
    def for_place(cls, *, timezone: str, country: str) -> "Calendar":
        """Weekends, the country's public holidays and the company holidays for it."""
        days = frozenset(
            holiday.date
            for holiday in CompanyHoliday.objects.all()
            if not holiday.countries or country in holiday.countries
        )
        return cls(tz=zoneinfo.ZoneInfo(timezone), country=country, company_days=days)

    def is_business_day(self, day: dt.date) -> bool:
        return (
            day.weekday() < 5
            and day not in self.company_days
            and day not in _public_holidays(self.country, day.year)
        )

    def add_business_days(self, day: dt.date, count: int) -> dt.date:
        while count > 0:
            day += dt.timedelta(days=1)
            if self.is_business_day(day):
                count -= 1
        return day

    def next_business_day(self, day: dt.date) -> dt.date:
        while not self.is_business_day(day):
            day += dt.timedelta(days=1)
        return day

    def localize(self, day: dt.date, time: dt.time) -> dt.datetime:
        return dt.datetime.combine(day, time, tzinfo=self.tz)


def parse_clock_time(value: str | None) -> dt.time | None:
    if not value:
        return None
    return dt.time.fromisoformat(value)


def step_due_at(*, step: dict[str, Any], base: dt.datetime, calendar: Calendar) -> dt.datetime:
    """The UTC moment a step becomes due, ``base`` being when its timing starts."""
    local = base.astimezone(calendar.tz)
    days = int(step.get("delay_days") or 0)
    hours = int(step.get("delay_hours") or 0)
    at_time = parse_clock_time(step.get("at_time"))

    if step.get("business_days"):
        day = calendar.add_business_days(local.date(), days)
        if days and not calendar.is_business_day(day):
            day = calendar.next_business_day(day)
    else:
        day = local.date() + dt.timedelta(days=days)
    # Same wall-clock time on the target day (or the step's fixed time of day).
    target = calendar.localize(day, at_time or local.time().replace(tzinfo=None))
    if hours:
        target = (target.astimezone(UTC) + dt.timedelta(hours=hours)).astimezone(calendar.tz)
    return within_send_window(step=step, moment=target, calendar=calendar).astimezone(UTC)


def within_send_window(
    *, step: dict[str, Any], moment: dt.datetime, calendar: Calendar
) -> dt.datetime:
    """Move ``moment`` into the step's local send window (e.g. 09:00–17:00 on business
    days) if it has one; otherwise return it unchanged."""
    start = parse_clock_time(step.get("window_start"))
    end = parse_clock_time(step.get("window_end"))
    if start is None or end is None:
        return moment
    local = moment.astimezone(calendar.tz)
    day, time = local.date(), local.time().replace(tzinfo=None)
    if calendar.is_business_day(day) and start <= time < end:
        return local
    if not calendar.is_business_day(day) or time >= end:
        day = calendar.next_business_day(day + dt.timedelta(days=1 if time >= end else 0))
    return calendar.localize(day, start)
