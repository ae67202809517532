"""The contact policy holds across playbooks: a contact surveyed by one is not surveyed
by another within 90 days, and the suppression shows with its reason."""

import datetime as dt

import pytest

from apps.core import clock, outbox
from apps.engine.models import Enrollment
from apps.engine.selectors import enrollment_timeline
from apps.surveys.models import Invitation
from tests.deals.test_close_won import close_won
from tests.factories import AccountFactory, ContactFactory, closable_deal
from tests.surveys.conftest import survey_playbook

pytestmark = pytest.mark.django_db


def test_a_contact_surveyed_by_one_playbook_is_not_surveyed_by_another_within_90_days(rep):
    account = AccountFactory(name="Globex")
    grace = ContactFactory(account=account, name="Grace", email="g@globex.test", is_primary=True)
    survey_playbook("Onboarding NPS")
    survey_playbook("Relationship NPS", survey="csat")

    close_won(closable_deal(account=account, primary_contact=grace), actor=rep)
    outbox.drain()

    by_playbook = {
        inv.playbook.name: (inv.status, inv.suppressed_reason)
        for inv in Invitation.objects.select_related("playbook")
    }
    statuses = sorted(status for status, _ in by_playbook.values())
    assert statuses == ["sent", "suppressed"]
    [reason] = [reason for _, reason in by_playbook.values() if reason]
    assert reason == "the contact was surveyed in the last 90 days"

    # 91 days later the policy lets the next survey through.
    with clock.frozen(clock.now() + dt.timedelta(days=91)):
        close_won(closable_deal(account=account, primary_contact=grace), actor=rep)
        outbox.drain()
    assert Invitation.objects.filter(status="sent").count() == 2

    # The suppression shows on the enrollment's timeline with its reason.
    suppressed = Invitation.objects.filter(status="suppressed").earliest("created_at")
    timeline = enrollment_timeline(
        enrollments=Enrollment.objects.filter(pk=suppressed.enrollment_id)
    )
    texts = " ".join(str(getattr(row, "effect", row)) for entry in timeline for row in [entry])
    assert "not sent: the contact was surveyed in the last 90 days" in texts
