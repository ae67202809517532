"""``deal.stage_entered``: a playbook can start when a deal enters a chosen stage."""

import pytest

from apps.core.errors import ValidationFailed
from apps.deals import services as deal_services
from apps.deals.models import Stage
from apps.engine.models import Enrollment
from apps.playbooks.models import Playbook, PlaybookStep
from apps.playbooks.services import playbook_publish
from apps.queues.models import Queue
from tests.engine.test_enrollment_policies import process_all
from tests.factories import DealFactory

pytestmark = pytest.mark.django_db


def proposal_playbook(stages=("proposal",)) -> Playbook:
    Queue.objects.get_or_create(slug="presales", defaults={"name": "Presales"})
    playbook = Playbook.objects.create(
        name="Proposal review", trigger="deal.stage_entered", filters={"stages": list(stages)}
    )
    PlaybookStep.objects.create(
        playbook=playbook,
        key="review",
        name="Review the proposal",
        kind="task",
        config={"queue": "presales", "title": "Review {{ deal.name }}"},
    )
    playbook_publish(playbook=playbook, actor=None)
    return playbook


def test_a_deal_entering_the_chosen_stage_is_enrolled(admin_user):
    proposal_playbook()
    deal = DealFactory(stage=Stage.QUALIFIED)

    deal_services.deal_move(deal=deal, name="propose", actor=admin_user, source="api")
    process_all()

    enrollment = Enrollment.objects.get()
    assert (enrollment.deal_id, enrollment.account_id) == (deal.pk, deal.account_id)


def test_other_stages_do_not_enroll(admin_user):
    proposal_playbook()
    deal = DealFactory(stage=Stage.NEW)

    deal_services.deal_move(deal=deal, name="qualify", actor=admin_user, source="api")
    process_all()

    assert not Enrollment.objects.exists()


def test_a_stage_filter_names_only_real_stages():
    playbook = Playbook.objects.create(
        name="Odd", trigger="deal.stage_entered", filters={"stages": ["signed"]}
    )
    PlaybookStep.objects.create(playbook=playbook, key="a", name="A", kind="wait")

    with pytest.raises(ValidationFailed) as refused:
        playbook_publish(playbook=playbook, actor=None)

    assert "“stages” takes values from:" in refused.value.errors["filters"][0]
