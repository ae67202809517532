"""The demo's account health: a playbook that escalates an account turning red (as an
admin would configure it), today's scores computed from the seeded data, and — demo data
only — 90 days of made-up history so the account page's chart has a past.

The scores themselves are never made up: they are computed from the seeded tasks, survey
answers, usage and onboarding plans, so a red account is red for the reasons its factor
table gives. Only the snapshots before today are invented: a deterministic drift that ends
at today's real score (an account that is red now slid there over the last weeks)."""

import datetime as dt
import random

from django.contrib.auth.models import User

from apps.core import clock
from apps.health.models import HealthSettings, HealthSnapshot
from apps.health.services import health_recompute_all
from apps.playbooks.models import Playbook

HEALTH_PLAYBOOK_NAME = "Health turned red"
HEALTH_PLAYBOOK_SETTINGS = {
    "description": "When an account's health band becomes red, its CSM gets an urgent task "
    "in the Escalations queue to call the customer and agree a recovery plan. The task "
    "says why: the account page lists each factor's value and contribution.",
    "trigger": "account.health_changed",
    "filters": {"health_bands": ["red"]},
    "enrollment_policy": Playbook.Policy.EVERY_TRIGGER,
    "account_cooldown_days": 30,
}
HEALTH_PLAYBOOK_STEPS = (
    {
        "key": "call-red-account",
        "name": "Call the customer",
        "kind": "task",
        "config": {
            "queue": "escalations",
            "title": "{{ account.name }} turned red: call the customer",
            "body": "The account's health became red. Open the account to see which factors "
            "pulled it down, call {{ contact.name }} and agree a recovery plan.",
            "assign_to": "account_csm",
            "priority": 1,
            "task_kind": "escalation",
            "due_in_days": 1,
        },
        "start": "enrollment",
    },
)
HISTORY_DAYS = 90


def seed_health(result, *, publisher: User, seed_playbook) -> None:
    """The red-health playbook, a backfilled history (once), then today's scores."""
    seed_playbook(
        result,
        name=HEALTH_PLAYBOOK_NAME,
        settings=HEALTH_PLAYBOOK_SETTINGS,
        steps=HEALTH_PLAYBOOK_STEPS,
        publisher=publisher,
    )
    backfill = not HealthSnapshot.objects.exists()
    # Today's real scores and snapshot (their first bands raise account.health_changed:
    # the worker then starts the playbook above for the red ones).
    health_recompute_all()
    if backfill:
        result.count(HealthSnapshot, _history_backfill())


def _history_backfill() -> int:
    """Demo data only: the 89 days before today, drifting towards today's score."""
    today = clock.now().date()
    thresholds = HealthSettings.current()
    rng = random.Random(12)
    rows = []
    for snapshot in HealthSnapshot.objects.filter(date=today, score__isnull=False).order_by(
        "account_id"
    ):
        # Red and yellow accounts were healthier a few weeks ago and slid; green ones
        # wander a little around where they are.
        start = snapshot.score if snapshot.band == "green" else min(95, snapshot.score + 35)
        turn = rng.randint(20, 60)  # days ago the slide began
        for days_ago in range(HISTORY_DAYS - 1, 0, -1):
            if snapshot.band == "green" or days_ago > turn:
                base = start
            else:
                base = snapshot.score + (start - snapshot.score) * days_ago / turn
            score = max(0, min(100, round(base + rng.uniform(-4, 4))))
            rows.append(
                HealthSnapshot(
                    account_id=snapshot.account_id,
                    date=today - dt.timedelta(days=days_ago),
                    score=score,
                    band=thresholds.band_of(score),
                )
            )
    HealthSnapshot.objects.bulk_create(rows, ignore_conflicts=True)
    return len(rows)
