import pytest

from apps.core.errors import ValidationFailed
from apps.playbooks.models import Playbook, PlaybookStep, PlaybookVersion
from apps.playbooks.services import playbook_publish
from tests.factories import onboarding_playbook

pytestmark = pytest.mark.django_db


def add_step(playbook, **kwargs):
    defaults = {"name": "Step", "kind": "task", "config": {"queue": "onboarding", "title": "Hi"}}
    return PlaybookStep.objects.create(playbook=playbook, **{**defaults, **kwargs})


def test_publish_freezes_a_new_version_and_makes_it_current(admin_user):
    playbook = onboarding_playbook()
    add_step(playbook, key="welcome", position=5)

    version = playbook_publish(playbook=playbook, actor=admin_user)

    playbook.refresh_from_db()
    assert (version.number, version.published_by) == (2, admin_user)
    assert playbook.current_version == version and playbook.status == Playbook.Status.ACTIVE
    assert [s["key"] for s in version.steps] == ["kickoff", "welcome"]
    assert [s["key"] for s in PlaybookVersion.objects.get(number=1).steps] == ["kickoff"]


def test_versions_are_immutable():
    version = onboarding_playbook().current_version
    version.steps = []
    with pytest.raises(ValueError, match="immutable"):
        version.save()


@pytest.mark.parametrize(
    ("step", "field", "message"),
    [
        ({"key": "x", "kind": "fax"}, "x.kind", "Unknown step kind"),
        ({"key": "x", "config": {"queue": "nope", "title": "Hi"}}, "x.config.queue", "no queue"),
        ({"key": "x", "config": {"queue": "onboarding"}}, "x.config.title", "title"),
        (
            {"key": "x", "config": {"queue": "onboarding", "title": "{% if %}"}},
            "x.config.title",
            "Template error",
        ),
        ({"key": "x", "start": "after_step", "after_step": "ghost"}, "x.after_step", "no step"),
        (
            {"key": "x", "conditions": [{"field": "steps.ghost.score", "op": "<=", "value": 6}]},
            "x.conditions",
            "Rule 1: there is no step with the key “ghost”.",
        ),
        (
            {"key": "x", "config": {"queue": "onboarding", "title": "Hi", "priority": 9}},
            "x.config.priority",
            "Priority",
        ),
    ],
)
def test_publish_refuses_broken_steps_with_a_clear_message(step, field, message):
    playbook = onboarding_playbook()
    add_step(playbook, **step)

    with pytest.raises(ValidationFailed) as excinfo:
        playbook_publish(playbook=playbook, actor=None)

    assert message in " ".join(excinfo.value.errors[field])
    assert playbook.versions.count() == 1


def test_publish_refuses_a_cycle_between_steps():
    playbook = onboarding_playbook()
    add_step(playbook, key="a", start="after_step", after_step="b")
    add_step(playbook, key="b", start="after_step", after_step="a")

    with pytest.raises(ValidationFailed) as excinfo:
        playbook_publish(playbook=playbook, actor=None)

    assert any("wait for each other" in m for m in excinfo.value.errors["a.after_step"])
