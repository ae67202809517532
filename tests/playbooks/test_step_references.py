"""A step that names another step — the one it comes after, the one a wait waits on — is
refused on save under that field when the page has no such step, counting the steps added
and deleted in the same submission."""

import re

import pytest

from apps.core.errors import ValidationFailed
from apps.playbooks.models import PlaybookStep
from apps.playbooks.services import playbook_publish
from tests.playbooks.test_builder_admin import (  # noqa: F401 (fixtures)
    ANSWER,
    KICKOFF,
    SURVEY,
    change_url,
    page_data,
    playbook,
)

pytestmark = pytest.mark.django_db


def under(field: str, message: str, page: str) -> bool:
    """``message`` is the error of a step's ``field`` (``after_step``, ``config-for_step``)."""
    pattern = rf'id="id_steps-\d+-{field}_error"><li>{re.escape(message)}'
    return re.search(pattern, page) is not None


def test_an_after_step_no_step_has_is_refused_under_the_field(client, playbook):  # noqa: F811
    follow_up = {**KICKOFF, "key": "follow_up", "start": "after_step", "after_step": "nosuchstep"}

    response = client.post(change_url(playbook), page_data(playbook, [KICKOFF, follow_up]))

    assert response.status_code == 200
    assert under(
        "after_step", "There is no step with the key “nosuchstep”.", response.content.decode()
    )
    assert not playbook.steps.exists()


def test_a_wait_on_a_step_no_step_has_is_refused_under_the_field(client, playbook):  # noqa: F811
    answer = {**ANSWER, "config": {"until_event": "survey.answered", "for_step": "nosuchstep"}}

    response = client.post(change_url(playbook), page_data(playbook, [SURVEY, answer]))

    assert response.status_code == 200
    page = response.content.decode()
    assert under("config-for_step", "There is no step with the key “nosuchstep”.", page)
    assert not playbook.steps.exists()


def test_steps_added_in_the_same_submission_can_be_named(client, playbook):  # noqa: F811
    # The wait names the survey and comes after it; both are new on this page.
    response = client.post(change_url(playbook), page_data(playbook, [ANSWER, SURVEY]))

    assert response.status_code == 302, response.content.decode()[:3000]
    assert playbook.steps.get(key="nps_answer").after_step == "nps"


def test_a_step_deleted_in_the_same_submission_cannot_be_named(client, playbook):  # noqa: F811
    client.post(change_url(playbook), page_data(playbook, [SURVEY, ANSWER]))
    saved = {step.key: step.pk for step in playbook.steps.all()}
    steps = [{**SURVEY, "id": saved["nps"], "DELETE": "on"}, {**ANSWER, "id": saved["nps_answer"]}]

    response = client.post(change_url(playbook), page_data(playbook, steps))

    page = response.content.decode()
    assert under("after_step", "There is no step with the key “nps”.", page)
    assert under("config-for_step", "There is no step with the key “nps”.", page)
    assert set(playbook.steps.values_list("key", flat=True)) == {"nps", "nps_answer"}


def test_publishing_refuses_a_wait_on_a_step_the_playbook_lacks(admin_user, playbook):  # noqa: F811
    PlaybookStep.objects.create(
        playbook=playbook,
        key="nps_answer",
        name="NPS answer",
        kind="wait",
        config={"until_event": "survey.answered", "for_step": "nps"},
    )

    with pytest.raises(ValidationFailed) as refusal:
        playbook_publish(playbook=playbook, actor=admin_user)

    assert refusal.value.errors == {
        "nps_answer.config.for_step": ["There is no step with the key “nps”."]
    }
