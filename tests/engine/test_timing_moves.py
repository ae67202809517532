"""A step moved onto a business day keeps its time of day, says why it moved, and
repetitions count from the planned dates, not the moved ones."""

import datetime as dt
import zoneinfo

import pytest

from apps.core import clock
from apps.core.step_kinds import StepDefinition
from apps.engine.models import StepRun
from apps.engine.selectors import step_run_move
from apps.engine.simulation import playbook_simulate
from apps.engine.timing import Calendar, step_timing
from apps.playbooks.models import PlaybookStep
from tests.factories import AccountFactory, onboarding_playbook

pytestmark = pytest.mark.django_db
BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")


def berlin_calendar() -> Calendar:
    return Calendar.for_account(AccountFactory(timezone="Europe/Berlin", country="DE"))


def step(**fields) -> StepDefinition:
    return StepDefinition.from_snapshot({"key": "qbr", "name": "QBR", "kind": "task", **fields})


def test_a_step_at_ten_that_falls_on_sunday_moves_to_monday_at_ten_and_says_why():
    # Friday 26 Feb 2027, 10:00 in Berlin; two days later is a Sunday.
    base = dt.datetime(2027, 2, 26, 10, 0, tzinfo=BERLIN)
    checkin = step(delay_days=2, at_time="10:00", window_start="09:00", window_end="17:00")

    timing = step_timing(step=checkin, base=base, calendar=berlin_calendar())

    assert timing.planned.astimezone(BERLIN) == dt.datetime(2027, 2, 28, 10, 0, tzinfo=BERLIN)
    assert timing.due.astimezone(BERLIN) == dt.datetime(2027, 3, 1, 10, 0, tzinfo=BERLIN)
    assert timing.moved_because == "not a business day (weekend)"


def test_a_step_moved_across_the_autumn_dst_change_keeps_its_wall_clock_time():
    # Planned for Saturday 30 October 2027 10:00 CEST; Monday 1 November is in CET.
    base = dt.datetime(2027, 10, 23, 10, 0, tzinfo=BERLIN)
    checkin = step(delay_days=7, at_time="10:00", window_start="09:00", window_end="17:00")

    due = step_timing(step=checkin, base=base, calendar=berlin_calendar()).due.astimezone(BERLIN)

    assert (due.date(), due.hour, due.utcoffset()) == (
        dt.date(2027, 11, 1),
        10,
        dt.timedelta(hours=1),
    )


def test_a_holiday_move_names_the_holiday():
    base = dt.datetime(2026, 12, 22, 10, 0, tzinfo=BERLIN)
    checkin = step(delay_days=3, business_days=False, window_start="09:00", window_end="17:00")

    timing = step_timing(step=checkin, base=base, calendar=berlin_calendar())

    assert timing.moved_because == "not a business day (public holiday: Christmas Day)"
    assert timing.due.astimezone(BERLIN) == dt.datetime(2026, 12, 28, 10, 0, tzinfo=BERLIN)


def test_repetitions_count_from_the_planned_dates_not_the_moved_ones():
    base = dt.datetime(2026, 11, 30, 10, 0, tzinfo=BERLIN)  # a Monday
    qbr = step(
        delay_days=90,
        at_time="10:00",
        window_start="09:00",
        window_end="17:00",
        repeat_every_days=90,
        repeat_max=4,
    )
    calendar = berlin_calendar()
    first = step_timing(step=qbr, base=base, calendar=calendar)

    planned = [
        step_timing(step=qbr, base=first.planned, calendar=calendar, occurrence=n)
        for n in (2, 3, 4)
    ]

    days = [(t.planned.astimezone(BERLIN).date() - base.date()).days for t in [first, *planned]]
    assert days == [90, 180, 270, 360]
    assert {t.due.astimezone(BERLIN).hour for t in [first, *planned]} == {10}


def test_preview_runs_quarterly_check_ins_on_planned_days_at_the_same_time():
    playbook = onboarding_playbook(
        extra_steps=[
            {
                "key": "quarterly",
                "name": "Quarterly check-in",
                "kind": "task",
                "config": {"queue": "onboarding", "title": "QBR with {{ account.name }}"},
                "delay_days": 90,
                "at_time": dt.time(10, 0),
                "window_start": dt.time(9, 0),
                "window_end": dt.time(17, 0),
                "repeat_every_days": 90,
                "repeat_max": 4,
            }
        ]
    )
    start = dt.datetime(2026, 11, 30, 9, 0, tzinfo=BERLIN)

    rows = playbook_simulate(playbook=playbook, days=400, start=start)

    quarterly = [r for r in rows if r.step_key == "quarterly"]
    assert [r.day for r in quarterly] == [91, 182, 270, 360]
    assert {r.local.split(", ")[1][:5] for r in quarterly} == {"10:00"}
    assert quarterly[0].moved == (
        "Sun 28 Feb 2027, 10:00 → Mon 1 Mar 2027, 10:00: not a business day (weekend)"
    )
    assert quarterly[2].moved == ""


def test_a_moved_run_explains_itself_on_timelines():
    run = StepRun(
        planned_at=dt.datetime(2027, 2, 28, 9, 0, tzinfo=dt.UTC),
        due_at=dt.datetime(2027, 3, 1, 9, 0, tzinfo=dt.UTC),
        moved_because="not a business day (weekend)",
    )

    assert step_run_move(run, tz="Europe/Berlin") == (
        "Sun 28 Feb 2027, 10:00 → Mon 1 Mar 2027, 10:00: not a business day (weekend)"
    )
    assert step_run_move(StepRun(due_at=clock.now()), tz="UTC") == ""


def test_playbook_steps_snapshot_round_trips_through_the_definition():
    playbook = onboarding_playbook()
    draft = PlaybookStep.objects.get(playbook=playbook)

    definition = StepDefinition.from_snapshot(draft.as_snapshot())

    assert definition == draft.as_definition()
    assert playbook.current_version.step("kickoff") == definition
