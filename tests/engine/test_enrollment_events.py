"""The engine announces enrollments: ``enrollment.started`` when an account is enrolled
(by a trigger or in bulk) and ``enrollment.completed`` when its last step finishes."""

import pytest

from apps.core.models import DomainEvent
from apps.customers.models import Account
from apps.engine.bulk import bulk_enrollment_run, bulk_enrollment_start
from apps.engine.execution import steps_drain
from apps.engine.models import Enrollment
from tests.engine.test_walking_skeleton import win_and_process
from tests.factories import (
    AccountFactory,
    UserFactory,
    closable_deal,
    onboarding_playbook,
    programme_playbook,
)

pytestmark = pytest.mark.django_db


def test_a_close_that_enrolls_raises_started_then_completed_once(rep):
    csm = UserFactory(username="cleo", role="CSM")
    onboarding_playbook()
    deal = closable_deal(account=AccountFactory(csm=csm), owner=rep)

    enrollment = win_and_process(deal, rep)

    [started] = DomainEvent.objects.filter(name="enrollment.started")
    assert started.payload == {
        "enrollment_id": enrollment.pk,
        "playbook_id": enrollment.playbook_id,
        "version_id": enrollment.version_id,
        "account_id": deal.account_id,
        "deal_id": deal.pk,
    }
    assert not DomainEvent.objects.filter(name="enrollment.completed").exists()

    steps_drain()  # the kickoff task, the playbook's only step
    steps_drain()

    enrollment.refresh_from_db()
    assert enrollment.state == Enrollment.State.COMPLETED
    [completed] = DomainEvent.objects.filter(name="enrollment.completed")
    assert (completed.aggregate_type, completed.aggregate_id) == ("enrollment", enrollment.pk)
    assert completed.payload["deal_id"] == deal.pk


def test_a_bulk_run_raises_started_for_each_account_it_enrolls():
    playbook = programme_playbook()
    accounts = AccountFactory.create_batch(3, lifecycle_status=Account.Lifecycle.ACTIVE)
    run = bulk_enrollment_start(
        playbook=playbook, filters={"lifecycle_status": ["active"]}, actor=None
    )

    bulk_enrollment_run(bulk_enrollment_id=run.pk, chunk_size=2)
    bulk_enrollment_run(bulk_enrollment_id=run.pk, chunk_size=2)  # again: nobody twice

    started = DomainEvent.objects.filter(name="enrollment.started")
    assert sorted(e.payload["account_id"] for e in started) == sorted(a.pk for a in accounts)
    assert {e.payload["playbook_id"] for e in started} == {playbook.pk}
