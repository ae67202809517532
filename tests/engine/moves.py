"""What the tests of moving enrollments share: a playbook with a version of three steps,
an enrollment started on it at a known moment, and a second version published from an
edited draft."""

import datetime as dt

from apps.core import clock
from apps.engine.models import Enrollment
from apps.playbooks.models import Playbook, PlaybookStep, PlaybookVersion
from apps.playbooks.services import playbook_publish
from tests.engine.test_walking_skeleton import win_and_process
from tests.factories import AccountFactory, closable_deal, onboarding_playbook

T0 = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)  # a Tuesday
DAY = dt.timedelta(days=1)
TASK = {"queue": "onboarding", "title": "Follow up with {{ account.name }}"}

CHECKIN = {"key": "checkin", "name": "Check-in call", "kind": "task", "config": TASK}
OLD_SURVEY = {"key": "old_survey", "name": "Old survey call", "kind": "task", "config": TASK}
# A step far ahead that every version keeps, so the enrollments are still running.
RENEWAL = {
    "key": "renewal",
    "name": "Renewal prep",
    "kind": "task",
    "config": TASK,
    "delay_days": 300,
}
# A step v1 lacks, two days after the kickoff has run.
HANDOVER = {
    "key": "handover",
    "name": "Handover to support",
    "kind": "task",
    "config": TASK,
    "start": "after_step",
    "after_step": "kickoff",
    "delay_days": 2,
}
V1_STEPS = [
    {**CHECKIN, "delay_days": 14},
    {**OLD_SURVEY, "delay_days": 30},
]


def playbook_v1(steps: list[dict] | None = None) -> Playbook:
    """Kickoff (at once), a check-in after 14 days, an old survey call after 30 (or
    ``steps``), and the renewal prep after 300."""
    return onboarding_playbook(extra_steps=[*(V1_STEPS if steps is None else steps), RENEWAL])


def enroll(rep, *, at: dt.datetime = T0, **account) -> Enrollment:
    """An enrollment started at ``at`` (its kickoff not run yet)."""
    deal = closable_deal(account=AccountFactory(**{"timezone": "UTC", "country": "US", **account}))
    with clock.frozen(at):
        return win_and_process(deal, rep)


def publish(
    playbook: Playbook, steps: list[dict], *, renewal: bool = True, actor=None
) -> PlaybookVersion:
    """Replace the draft's steps after the kickoff with ``steps`` (and the renewal prep)
    and publish."""
    playbook.steps.exclude(key="kickoff").delete()
    for position, step in enumerate([*steps, *([RENEWAL] if renewal else [])], start=2):
        PlaybookStep.objects.create(playbook=playbook, position=position, **step)
    return playbook_publish(playbook=playbook, actor=actor)


def step_record(change, key: str) -> dict:
    """What a move's record says about one step."""
    return next(step for step in change.steps if step["key"] == key)
