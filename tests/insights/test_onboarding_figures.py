"""Time from closed-won to onboarding complete (the account's move from onboarding to
active) and the playbook funnel per step, against hand-built rows."""

import datetime as dt

import pytest

from apps.core.models import DomainEvent
from apps.customers.models import Account, AccountLifecycleChange
from apps.deals.models import Deal
from apps.engine.models import Enrollment, StepRun
from apps.growth.results import ResultFilters
from apps.insights.selectors import onboard_overall, playbook_funnel, time_to_onboard
from apps.insights.services import funnel_counts_rebuild
from apps.playbooks.models import PlaybookStep
from tests.factories import AccountFactory, closed_deal, onboarding_playbook

pytestmark = pytest.mark.django_db

OCT = dt.datetime(2026, 10, 1, 12, 0, tzinfo=dt.UTC)
NOV = dt.datetime(2026, 11, 2, 12, 0, tzinfo=dt.UTC)


def move(account, frm, to, at):
    AccountLifecycleChange.objects.create(account=account, from_status=frm, to_status=to, at=at)


@pytest.fixture
def onboardings():
    """Retail, won 1 Oct, active 11 Oct (10 days); Retail, won 1 Oct, active 31 Oct (30
    days); Software, won 2 Nov, still onboarding; an expansion won 2 Nov (no onboarding)
    and a lost deal count nowhere."""
    on, active = Account.Lifecycle.ONBOARDING, Account.Lifecycle.ACTIVE
    fast = AccountFactory(segment="Retail", lifecycle_status=active)
    closed_deal(won=True, closed_at=OCT, account=fast)
    move(fast, on, active, OCT + dt.timedelta(days=10))
    slow = AccountFactory(segment="Retail", lifecycle_status=active)
    closed_deal(won=True, closed_at=OCT, account=slow)
    move(slow, on, active, OCT + dt.timedelta(days=30))
    waiting = AccountFactory(segment="Software", lifecycle_status=on)
    closed_deal(won=True, closed_at=NOV, account=waiting)
    closed_deal(won=True, closed_at=NOV, account=fast, kind=Deal.Kind.EXPANSION)
    closed_deal(won=False, closed_at=NOV, segment="Software")


def test_time_to_onboard_overall(onboardings):
    [row] = time_to_onboard(ResultFilters())
    assert {key: row[key] for key in ("group", "won", "onboarded", "onboarding")} == {
        "group": "All",
        "won": 3,
        "onboarded": 2,
        "onboarding": 1,
    }
    assert row["average_days"] == 20.0
    # The page adds the segments up to the same overall row.
    summed = onboard_overall(time_to_onboard(ResultFilters(), by="segment"))
    assert (summed["won"], summed["onboarded"], summed["average_days"]) == (3, 2, 20.0)


def test_time_to_onboard_by_segment_and_quarter(onboardings):
    by_segment = {row["group"]: row for row in time_to_onboard(ResultFilters(), by="segment")}
    assert (by_segment["Retail"]["onboarded"], by_segment["Retail"]["average_days"]) == (2, 20.0)
    assert (by_segment["Software"]["onboarding"], by_segment["Software"]["average_days"]) == (
        1,
        None,
    )
    by_quarter = {
        row["group"]: row["won"] for row in time_to_onboard(ResultFilters(), by="quarter")
    }
    assert by_quarter == {"2026 Q4": 3}


def test_time_to_onboard_in_a_period(onboardings):
    [row] = time_to_onboard(ResultFilters(since=dt.date(2026, 11, 1)))
    assert (row["won"], row["onboarded"], row["onboarding"]) == (1, 0, 1)


def enroll(playbook, account, at):
    event = DomainEvent.objects.create(
        name="deal.closed_won", aggregate_type="deal", aggregate_id=account.pk, occurred_at=at
    )
    return Enrollment.objects.create(
        playbook=playbook,
        version=playbook.versions.get(),
        account=account,
        trigger_event=event,
        created_at=at,
    )


def run(enrollment, key, state, occurrence=1):
    return StepRun.objects.create(
        enrollment=enrollment,
        step_key=key,
        occurrence=occurrence,
        kind="task",
        due_at=enrollment.created_at,
        state=state,
    )


@pytest.fixture
def funnel():
    """Four enrollments in October (three Retail, one Software): all reached the kickoff
    (3 done, 1 dead); three reached the check-in (1 done, 1 skipped, 1 pending), of which
    one had a second occurrence (not a new arrival). One enrollment of 2025 is outside."""
    playbook = onboarding_playbook(
        extra_steps=[
            {
                "key": "check-in",
                "name": "First check-in",
                "kind": "task",
                "config": {"queue": "onboarding", "title": "Check in"},
            }
        ]
    )
    retail = [AccountFactory(segment="Retail") for _ in range(3)]
    software = AccountFactory(segment="Software")
    e1, e2, e3 = (enroll(playbook, account, OCT) for account in retail)
    e4 = enroll(playbook, software, OCT)
    for enrollment, state in ((e1, "done"), (e2, "done"), (e3, "dead"), (e4, "done")):
        run(enrollment, "kickoff", state)
    run(e1, "check-in", "done")
    run(e1, "check-in", "done", occurrence=2)
    run(e2, "check-in", "skipped")
    run(e4, "check-in", "pending")
    old = enroll(playbook, AccountFactory(segment="Retail"), dt.datetime(2025, 3, 1, tzinfo=dt.UTC))
    run(old, "kickoff", "done")
    funnel_counts_rebuild()
    return playbook


def _by_step(rows):
    return {
        row["step_key"]: (row["reached"], row["done"], row["skipped"], row["dead"]) for row in rows
    }


def test_funnel_counts_each_enrollment_once_per_step_in_the_playbooks_order(funnel):
    rows = playbook_funnel(ResultFilters(since=dt.date(2026, 1, 1)))
    assert [row["step"] for row in rows] == ["Kickoff call", "First check-in"]
    assert {row["playbook"] for row in rows} == {"New customer onboarding"}
    assert _by_step(rows) == {"kickoff": (4, 3, 0, 1), "check-in": (3, 1, 1, 0)}
    assert rows[0]["done_rate"] == 75.0


def test_funnel_by_segment_and_all_time(funnel):
    retail = playbook_funnel(ResultFilters(since=dt.date(2026, 1, 1), segment="Retail"))
    assert _by_step(retail) == {"kickoff": (3, 2, 0, 1), "check-in": (2, 1, 1, 0)}
    assert _by_step(playbook_funnel(ResultFilters()))["kickoff"] == (5, 4, 0, 1)


def test_a_step_gone_from_the_draft_comes_last_under_its_key(funnel):
    PlaybookStep.objects.filter(playbook=funnel, key="kickoff").delete()
    rows = playbook_funnel(ResultFilters())
    assert [row["step"] for row in rows] == ["First check-in", "kickoff"]


def test_the_funnel_counts_are_rebuilt_from_the_step_runs_and_twice_is_harmless(funnel):
    before = _by_step(playbook_funnel(ResultFilters()))
    assert (
        funnel_counts_rebuild() == funnel_counts_rebuild() == 5
    )  # (step, day, segment): 2 x 2 in October, 1 in 2025
    assert _by_step(playbook_funnel(ResultFilters())) == before
    StepRun.objects.filter(step_key="check-in", state="pending").update(state="done")
    assert _by_step(playbook_funnel(ResultFilters()))["check-in"] == (3, 1, 1, 0)  # not yet
    funnel_counts_rebuild()
    assert _by_step(playbook_funnel(ResultFilters()))["check-in"] == (3, 2, 1, 0)
