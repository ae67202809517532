from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from apps.core.models import DomainEvent
from apps.deals.models import Deal
from apps.engine.models import Enrollment, StepRun
from apps.playbooks.models import PlaybookStep
from apps.queues.models import Task
from tests.factories import closable_deal, onboarding_playbook

pytestmark = pytest.mark.django_db
START = "2026-11-23T08:00:00+00:00"


def simulate(*args: str) -> str:
    out = StringIO()
    call_command("playbook_simulate", "New customer onboarding", *args, stdout=out)
    return out.getvalue()


def test_simulation_prints_the_timeline_in_local_time_and_writes_nothing():
    onboarding_playbook(
        extra_steps=[
            {
                "key": "qbr",
                "name": "Quarterly review",
                "kind": "task",
                "delay_days": 90,
                "repeat_every_days": 90,
                "repeat_max": 4,
                "config": {"queue": "onboarding", "title": "QBR with {{ account.name }}"},
            },
        ]
    )
    deal = closable_deal()
    before = (Deal.objects.count(), DomainEvent.objects.count())

    output = simulate("--deal", str(deal.pk), "--days", "200", "--start", START)

    lines = output.splitlines()
    assert any("Mon 23 Nov 2026, 09:00 CET" in line and "Kickoff call" in line for line in lines)
    assert sum("Quarterly review" in line for line in lines) == 2  # days 90 and 180 only
    assert f"Kickoff call with {deal.account.name}" in output
    assert (Deal.objects.count(), DomainEvent.objects.count()) == before
    assert not Enrollment.objects.exists() and not StepRun.objects.exists()
    assert not Task.objects.exists()


def test_simulation_is_deterministic_and_previews_the_unpublished_draft():
    playbook = onboarding_playbook()
    PlaybookStep.objects.create(
        playbook=playbook,
        key="draft_only",
        name="Draft step",
        kind="task",
        delay_days=3,
        config={"queue": "onboarding", "title": "New in the draft"},
    )
    first, second = simulate("--start", START), simulate("--start", START)
    assert first == second
    assert "New in the draft" in first
    assert playbook.versions.count() == 1  # previewing did not publish


def test_simulation_names_what_is_wrong():
    onboarding_playbook()
    with pytest.raises(CommandError, match="No playbook named"):
        call_command("playbook_simulate", "Nope")
    with pytest.raises(CommandError, match="--deal"):
        simulate("--deal", "999999")
    with pytest.raises(CommandError, match="--start"):
        simulate("--start", "next tuesday")
