"""Survey fixtures: a published playbook that asks the primary contact the NPS question
at enrollment, and a way to run its steps and answer as the customer would."""

import pytest

from apps.core import outbox
from apps.engine.models import Enrollment
from apps.playbooks.models import Playbook, PlaybookStep
from apps.playbooks.services import playbook_publish
from apps.queues.models import Queue
from apps.surveys.models import Invitation, Survey
from tests.deals.test_close_won import close_won
from tests.factories import AccountFactory, ContactFactory, closable_deal


def survey_playbook(name: str = "Onboarding NPS", *, survey: str = "nps", **config) -> Playbook:
    Queue.objects.get_or_create(slug="escalations", defaults={"name": "Escalations"})
    playbook = Playbook.objects.create(name=name)
    PlaybookStep.objects.create(
        playbook=playbook,
        position=1,
        key="nps_survey",
        name="NPS survey",
        kind="survey",
        config={"survey": survey, **config},
    )
    playbook_publish(playbook=playbook, actor=None)
    playbook.refresh_from_db()
    return playbook


def won_with_contact(rep, *, email: str = "grace@globex.test", account=None, **contact):
    """Close a deal won whose primary contact is Grace; run what the workers would."""
    account = account or AccountFactory(name="Globex")
    person = ContactFactory(
        account=account, name="Grace Hopper", email=email, is_primary=True, **contact
    )
    deal = closable_deal(account=account, primary_contact=person)
    close_won(deal, actor=rep)
    outbox.drain()
    return deal


@pytest.fixture
def nps_survey() -> Survey:
    return Survey.objects.get(slug="nps")


def invitation_of(deal) -> Invitation:
    enrollment = Enrollment.objects.get(deal=deal)
    return Invitation.objects.get(enrollment_id=enrollment.pk)
