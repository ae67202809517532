"""The playbook timeline pages show: each enrollment's steps with their timing in words and
what each step's runs did or will do."""

import datetime as dt

import pytest

from apps.core import clock
from apps.core.events import event_process
from apps.core.models import DomainEvent
from apps.core.step_kinds import StepDefinition
from apps.engine.models import Enrollment
from apps.engine.selectors import enrollment_timeline, step_timing_label
from tests.deals.test_close_won import close_won
from tests.engine.test_walking_skeleton import CHECKIN
from tests.factories import closable_deal, onboarding_playbook

NOW = dt.datetime(2026, 11, 18, 9, 0, tzinfo=dt.UTC)


def definition(**fields) -> StepDefinition:
    return StepDefinition.from_snapshot({"name": fields["key"], "kind": "task", **fields})


def test_a_step_at_enrollment_says_so():
    assert step_timing_label(definition(key="kickoff")) == "At enrollment"


def test_a_delayed_step_names_its_delay_anchor_time_and_repetition():
    step = definition(
        key="qbr",
        start="after_step",
        after_step="kickoff",
        delay_days=2,
        delay_hours=1,
        business_days=True,
        at_time="10:00",
        repeat_every_days=90,
        conditions=[{"field": "deal.amount", "op": ">=", "value": 1000}],
    )

    assert step_timing_label(step) == (
        "2 business days and 1 hour after “kickoff” finishes, at 10:00 the customer's time; "
        "repeats every 90 days; only if its conditions hold"
    )


@pytest.mark.django_db
def test_the_timeline_lists_every_step_and_marks_the_current_run(
    rep, django_assert_max_num_queries
):
    onboarding_playbook(extra_steps=[CHECKIN])
    deal = closable_deal(owner=rep)
    with clock.frozen(NOW):
        close_won(deal, actor=rep)
        event_process(event_id=DomainEvent.objects.get(name="deal.closed_won").pk)
    kickoff = Enrollment.objects.get(deal=deal).step_runs.get(step_key="kickoff")

    with django_assert_max_num_queries(2):
        timeline = enrollment_timeline(
            enrollments=Enrollment.objects.filter(deal=deal), current_step_run_id=kickoff.pk
        )

    [entry] = timeline
    assert [(s["name"], s["timing"]) for s in entry["steps"]] == [
        ("Kickoff call", "At enrollment"),
        ("Day 7 check-in", "7 days after “kickoff” finishes"),
    ]
    [run] = entry["steps"][0]["runs"]
    assert (run["run"], run["is_current"], run["upcoming"]) == (kickoff, True, True)
    assert entry["steps"][1]["runs"] == []


@pytest.mark.django_db
def test_a_run_moved_off_a_weekend_says_when_and_why_on_the_timeline(rep):
    checkin = {**CHECKIN, "start": "enrollment", "delay_days": 4, "business_days": True}
    onboarding_playbook(extra_steps=[{**checkin, "delay_days": 0, "at_time": dt.time(10, 0)}])
    deal = closable_deal(owner=rep)
    saturday = dt.datetime(2026, 11, 21, 8, 0, tzinfo=dt.UTC)  # 09:00 in Berlin
    deal.account.timezone, deal.account.country = "Europe/Berlin", "DE"
    deal.account.save()
    with clock.frozen(saturday):
        close_won(deal, actor=rep)
        event_process(event_id=DomainEvent.objects.get(name="deal.closed_won").pk)

    [entry] = enrollment_timeline(enrollments=Enrollment.objects.filter(deal=deal))

    [run] = entry["steps"][1]["runs"]
    assert run["moved"] == (
        "Sat 21 Nov 2026, 10:00 → Mon 23 Nov 2026, 10:00: not a business day (weekend)"
    )
