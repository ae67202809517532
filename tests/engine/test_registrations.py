"""A new kind of work arrives as registrations only: a trigger, a waitable event and a
step kind registered by an app the engine has never heard of can enroll accounts, wait
for the event and branch on its payload."""

import pytest

from apps.core import event_registry as registry
from apps.core import step_kinds
from apps.core.errors import ValidationFailed
from apps.core.events import event_emit
from apps.engine.execution import steps_drain
from apps.engine.models import Enrollment, StepRun
from apps.playbooks.models import Playbook, PlaybookStep
from apps.playbooks.services import playbook_publish
from apps.queues.models import Queue, Task
from tests.engine.test_enrollment_policies import process_all
from tests.factories import AccountFactory, closable_deal

pytestmark = pytest.mark.django_db

ASKED: list[int] = []


def _ask(execution: step_kinds.StepExecution) -> dict:
    ASKED.append(execution.account.pk)
    return {"summary": f"Asked {execution.account.name}"}


@pytest.fixture
def pulse_app():
    """What a new app's ``AppConfig.ready()`` would register."""
    saved = (
        dict(registry._triggers),
        dict(registry._waitables),
        dict(registry._cancellations),
        dict(step_kinds._registry),
    )
    registry.register_trigger(
        registry.Trigger(
            name="pulse.signal_raised",
            label="Pulse signal raised",
            subject=registry.account_subject,
        )
    )
    registry.register_waitable(registry.Waitable(name="pulse.answered", label="Pulse answered"))
    registry.register_cancellation(
        registry.Cancellation(
            name="pulse.opted_out", label="Pulse opted out", subject=registry.account_subject
        )
    )
    step_kinds.register(step_kinds.StepKind(name="pulse_ask", label="Pulse question", execute=_ask))
    ASKED.clear()
    yield
    registry._triggers, registry._waitables, registry._cancellations = saved[:3]
    step_kinds._registry.clear()
    step_kinds._registry.update(saved[3])


def pulse_playbook() -> Playbook:
    Queue.objects.get_or_create(slug="success", defaults={"name": "Success"})
    playbook = Playbook.objects.create(name="Pulse", trigger="pulse.signal_raised")
    steps = [
        {"key": "ask", "name": "Ask", "kind": "pulse_ask"},
        {
            "key": "answered",
            "name": "Wait for the answer",
            "kind": "wait",
            "config": {"until_event": "pulse.answered", "for_step": "ask"},
            "start": "after_step",
            "after_step": "ask",
            "delay_days": 14,
        },
        {
            "key": "rescue",
            "name": "Rescue call",
            "kind": "task",
            "config": {"queue": "success", "title": "Rescue {{ account.name }}"},
            "start": "after_step",
            "after_step": "answered",
            "conditions": [{"field": "steps.ask.score", "op": "<=", "value": 6}],
        },
    ]
    for position, step in enumerate(steps, start=1):
        PlaybookStep.objects.create(playbook=playbook, position=position, **step)
    playbook_publish(playbook=playbook, actor=None)
    return playbook


def run_claimed_steps():
    """What a worker woken after the commit does: run the steps that are due."""
    steps_drain()


def raise_signal(account):
    event_emit(name="pulse.signal_raised", aggregate=account, payload={"account_id": account.pk})
    process_all()
    run_claimed_steps()
    return Enrollment.objects.get(account=account)


def answer(enrollment, score):
    event_emit(
        name="pulse.answered",
        aggregate=enrollment,
        payload={"enrollment_id": enrollment.pk, "step_key": "ask", "score": score},
    )
    process_all()


def test_a_registered_trigger_enrolls_the_account_with_its_latest_won_deal(pulse_app, rep):
    from tests.deals.test_close_won import close_won

    deal = closable_deal()
    close_won(deal, actor=rep)
    pulse_playbook()

    enrollment = raise_signal(deal.account)

    assert enrollment.deal_id == deal.pk
    assert [deal.account.pk] == ASKED


def test_a_detractors_answer_branches_into_the_rescue_task(pulse_app):
    pulse_playbook()
    enrollment = raise_signal(AccountFactory(name="Quiet Corp"))
    assert enrollment.deal is None

    answer(enrollment, score=3)

    enrollment.refresh_from_db()
    assert enrollment.context["steps"]["ask"]["score"] == 3
    wait = enrollment.step_runs.get(step_key="answered")
    assert (wait.state, wait.result["outcome"], wait.result["score"]) == ("done", "event", 3)
    run_claimed_steps()
    assert Task.objects.get().title == "Rescue Quiet Corp"


def test_a_promoters_answer_skips_the_rescue_task(pulse_app):
    pulse_playbook()
    enrollment = raise_signal(AccountFactory())

    answer(enrollment, score=10)

    run_claimed_steps()
    rescue = enrollment.step_runs.get(step_key="rescue")
    assert rescue.state == StepRun.State.SKIPPED
    assert rescue.result == {"skipped": "conditions not met"}
    assert not Task.objects.exists()


def test_a_registered_cancel_event_cancels_the_accounts_enrollments(pulse_app):
    playbook = pulse_playbook()
    playbook.cancel_on = ["pulse.opted_out"]
    playbook.save()
    playbook_publish(playbook=playbook, actor=None)
    account = AccountFactory()
    enrollment = raise_signal(account)

    event_emit(name="pulse.opted_out", aggregate=account, payload={"account_id": account.pk})
    process_all()

    enrollment.refresh_from_db()
    assert enrollment.state == Enrollment.State.CANCELLED
    assert enrollment.cancelled_reason == "Cancelled: pulse opted out."


def test_an_unregistered_trigger_cannot_be_published():
    playbook = Playbook.objects.create(name="Nowhere", trigger="pulse.signal_raised")
    PlaybookStep.objects.create(playbook=playbook, key="a", name="A", kind="wait")

    with pytest.raises(ValidationFailed) as refused:
        playbook_publish(playbook=playbook, actor=None)

    assert "Unknown trigger 'pulse.signal_raised'" in refused.value.errors["trigger"][0]


def test_the_engine_names_no_other_apps_events():
    from pathlib import Path

    import apps.engine

    source = "".join(p.read_text() for p in Path(apps.engine.__file__).parent.glob("*.py"))
    for name in ("deal.closed_won", "task.completed", "survey.answered", "account.churned"):
        assert name not in source


def test_a_step_that_needs_a_deal_is_skipped_with_the_reason_when_there_is_none(pulse_app):
    step_kinds.register(
        step_kinds.StepKind(
            name="pulse_upsell", label="Upsell on the deal", execute=_ask, needs_deal=True
        )
    )
    playbook = Playbook.objects.create(name="Upsell pulse", trigger="pulse.signal_raised")
    PlaybookStep.objects.create(playbook=playbook, key="upsell", name="Upsell", kind="pulse_upsell")
    playbook_publish(playbook=playbook, actor=None)

    enrollment = raise_signal(AccountFactory(name="Dealless Ltd"))

    run = enrollment.step_runs.get()
    assert run.state == StepRun.State.SKIPPED
    assert run.result["skipped"] == "“Upsell” needs a deal, and Dealless Ltd has no won deal"
    assert ASKED == []


def test_a_template_that_reads_the_deal_says_so_when_there_is_none(pulse_app):
    Queue.objects.get_or_create(slug="success", defaults={"name": "Success"})
    playbook = Playbook.objects.create(name="Deal note", trigger="pulse.signal_raised")
    PlaybookStep.objects.create(
        playbook=playbook,
        key="note",
        name="Note",
        kind="task",
        config={"queue": "success", "title": "Follow up on {{ deal.name }}"},
    )
    playbook_publish(playbook=playbook, actor=None)

    enrollment = raise_signal(AccountFactory(name="Dealless Ltd"))

    assert enrollment.step_runs.get().result == {
        "skipped": "the title read the deal, and Dealless Ltd has no won deal"
    }
    assert not Task.objects.exists()
