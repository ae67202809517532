"""When a step is due, computed in the account's local time.

Everything is stored in UTC; offsets are applied to the account's wall clock (zoneinfo),
so "day 30 at 10:00" is 10:00 for the customer whatever DST did in between. Business
days skip weekends, the account country's public holidays (``holidays``) and company
holidays entered in admin.
"""

import contextlib
import contextvars
import datetime as dt
import functools
import zoneinfo
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import holidays as public_holidays

from apps.core.step_kinds import StepDefinition
from apps.engine.models import CompanyHoliday

UTC = dt.UTC


@functools.lru_cache(maxsize=512)
def _public_holidays(country: str, year: int) -> dict[dt.date, str]:
    try:
        return dict(public_holidays.country_holidays(country, years=year))
    except NotImplementedError:  # a country the package does not know: weekends only
        return {}


_holidays_read: contextvars.ContextVar[list | None] = contextvars.ContextVar(
    "company_holidays", default=None
)


def _company_holidays() -> list[CompanyHoliday]:
    cached = _holidays_read.get()
    if cached is None:
        return list(CompanyHoliday.objects.all())
    if not cached:
        cached.append(list(CompanyHoliday.objects.all()))
    return cached[0]


@contextlib.contextmanager
def company_holidays_read_once() -> Iterator[None]:
    """Read the company holidays once for the block (a batch), not once per account."""
    token = _holidays_read.set([])
    try:
        yield
    finally:
        _holidays_read.reset(token)


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
            for holiday in _company_holidays()
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

    def why_not_business_day(self, day: dt.date) -> str:
        if day.weekday() >= 5:
            return "weekend"
        public = _public_holidays(self.country, day.year).get(day)
        if public:
            return f"public holiday: {public}"
        return "company holiday" if day in self.company_days else "business day"

    def next_business_day(self, day: dt.date) -> dt.date:
        while not self.is_business_day(day):
            day += dt.timedelta(days=1)
        return day

    def localize(self, day: dt.date, time: dt.time) -> dt.datetime:
        return dt.datetime.combine(day, time, tzinfo=self.tz)


@dataclass(frozen=True)
class StepTiming:
    """When a step falls due, and why that differs from its plan.

    ``planned`` is what the step's delay and time of day say; ``due`` is that moment
    moved onto a business day and into the send window where the step asks for them.
    Both are UTC. Recurrences count from the planned dates, never from the moved ones,
    so moves do not accumulate.
    """

    planned: dt.datetime
    due: dt.datetime
    moved_because: str = ""


def step_timing(
    *, step: StepDefinition, base: dt.datetime, calendar: Calendar, occurrence: int = 1
) -> StepTiming:
    """The timing of ``step``'s ``occurrence``. For the first, ``base`` is when its
    timing starts (enrollment, or the step it follows); for a repetition, ``base`` is the
    first occurrence's planned moment."""
    local = base.astimezone(calendar.tz)
    if occurrence > 1:
        every = dt.timedelta(days=(step.repeat_every_days or 0) * (occurrence - 1))
        planned = calendar.localize(local.date() + every, local.time().replace(tzinfo=None))
    else:
        planned = _planned(step=step, local=local, calendar=calendar)
    due, because = _move(step=step, moment=planned, calendar=calendar)
    return StepTiming(
        planned=planned.astimezone(UTC), due=due.astimezone(UTC), moved_because=because
    )


def step_due_at(*, step: StepDefinition, base: dt.datetime, calendar: Calendar) -> dt.datetime:
    """The UTC moment a step's first occurrence becomes due."""
    return step_timing(step=step, base=base, calendar=calendar).due


def _planned(*, step: StepDefinition, local: dt.datetime, calendar: Calendar) -> dt.datetime:
    if step.business_days:
        day = calendar.add_business_days(local.date(), step.delay_days)
    else:
        day = local.date() + dt.timedelta(days=step.delay_days)
    # Same wall-clock time on the target day (or the step's fixed time of day).
    target = calendar.localize(day, step.at_time or local.time().replace(tzinfo=None))
    if step.delay_hours:
        target = (target.astimezone(UTC) + dt.timedelta(hours=step.delay_hours)).astimezone(
            calendar.tz
        )
    return target


def _move(
    *, step: StepDefinition, moment: dt.datetime, calendar: Calendar
) -> tuple[dt.datetime, str]:
    """Move ``moment`` onto a business day and into the step's local send window when the
    step has one (or counts business days). The time of day is kept where the window
    allows it. Returns the moment and why it moved ("" if it did not)."""
    if not (step.has_send_window or step.business_days):
        return moment, ""
    local = moment.astimezone(calendar.tz)
    day, time = local.date(), local.time().replace(tzinfo=None)
    start, end = step.window_start, step.window_end
    if not calendar.is_business_day(day):
        because = f"not a business day ({calendar.why_not_business_day(day)})"
        day = calendar.next_business_day(day)
        if step.has_send_window and not start <= time < end:
            time = start
    elif step.has_send_window and time < start:
        because, time = f"before the send window {start:%H:%M}–{end:%H:%M}", start
    elif step.has_send_window and time >= end:
        because = f"after the send window {start:%H:%M}–{end:%H:%M}"
        day, time = calendar.next_business_day(day + dt.timedelta(days=1)), start
    else:
        return local, ""
    return calendar.localize(day, time), because
