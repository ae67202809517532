"""After seeding, every account has its health computed from the seeded data, customers
have 90 days of (demo) history, and a red band starts the escalation playbook."""

from io import StringIO

import pytest
from django.core.management import call_command

from apps.core import clock
from apps.customers.models import Account
from apps.demo.health import HEALTH_PLAYBOOK_NAME
from apps.health.models import AccountHealth, HealthSnapshot
from apps.health.scoring import health_compute
from apps.playbooks.models import Playbook

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def test_seeded_health_is_computed_with_a_history():
    call_command("seed_demo", stdout=StringIO())
    today = clock.now().date()

    assert AccountHealth.objects.count() == Account.objects.count()
    # The stored scores are the real ones, not made up.
    fresh = health_compute(account_ids=Account.objects.values_list("pk", flat=True))
    for health in AccountHealth.objects.all():
        assert (health.score, health.band) == (
            fresh[health.account_id].score,
            fresh[health.account_id].band,
        )
    customers = AccountHealth.objects.exclude(score=None)
    assert customers.exists() and customers.exclude(band="green").exists()
    for health in customers:
        days = HealthSnapshot.objects.filter(account_id=health.account_id)
        assert days.count() == 90
        assert days.get(date=today).score == health.score

    playbook = Playbook.objects.get(name=HEALTH_PLAYBOOK_NAME)
    assert (playbook.trigger, playbook.filters) == (
        "account.health_changed",
        {"health_bands": ["red"]},
    )
    assert playbook.current_version_id is not None

    before = HealthSnapshot.objects.count()
    output = StringIO()
    call_command("seed_demo", stdout=output)
    assert HealthSnapshot.objects.count() == before
    assert "nothing created" in output.getvalue()
