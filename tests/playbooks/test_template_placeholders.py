"""A template that names something its step cannot read (a typo, a tag left open) is
refused on save, at publish and on import, under its field and with the closest
placeholder; the preview says the same instead of rendering a blank."""

import json
import re

import pytest
from django.urls import reverse

from apps.core.errors import ValidationFailed
from apps.playbooks.models import PlaybookStep
from apps.playbooks.placeholders import template_placeholder_problems
from apps.playbooks.services import playbook_publish
from apps.playbooks.transfer import playbook_export, playbook_import
from tests.factories import closable_deal
from tests.playbooks.test_builder_admin import (  # noqa: F401 (fixtures)
    ANSWER,
    KICKOFF,
    SURVEY,
    change_url,
    page_data,
    playbook,
)

pytestmark = pytest.mark.django_db

NPS_WAIT = [{"key": "nps_answer", "kind": "wait", "config": {"until_event": "survey.answered"}}]


@pytest.mark.parametrize(
    ("template", "problem"),
    [
        (
            "Hi {{ account.nam }}",
            "“account.nam” is not a placeholder; did you mean “account.name”?",
        ),
        ("{{ contact.nmae }}", "“contact.nmae” is not a placeholder; did you mean “contact.name”?"),
        (
            "Kickoff with {{ account.nam }",
            "“{{ account.nam }” is not a complete placeholder; write “{{ account.name }}”.",
        ),
        (
            "Kickoff with { account.name }}",
            "“Kickoff with { account.name }}” is not a complete placeholder; "
            "write “{{ account.name }}”.",
        ),
        # Conditions read ``steps.…``; templates read the context the step left.
        (
            "NPS {{ steps.nps_answer.score }}",
            "“steps.nps_answer.score” is not a placeholder; "
            "did you mean “context.steps.nps_answer.score”?",
        ),
        ("{% if deal.amout %}big{% endif %}", "“deal.amout” is not a placeholder;"),
        ("{{ xyzzy }}", "“xyzzy” is not a placeholder; choose one from “Insert”."),
    ],
)
def test_a_name_the_step_cannot_read_is_a_problem_with_the_closest_one(template, problem):
    [found] = template_placeholder_problems(template, steps=NPS_WAIT)

    assert found.startswith(problem)


def test_what_the_picker_offers_and_a_wait_steps_facts_are_no_problem():
    template = (
        "{{ company.name }} thanks {{ contact.name }} at {{ account.name }} for "
        "{{ context.steps.nps_answer.score }} ({{ context.steps.nps_answer.band }}): "
        "{{ context.steps.nps_answer.comment|default:'(none)' }}"
        "{% for word in deal.name %}{{ word }}{{ forloop.counter }}{% endfor %}"
    )

    assert template_placeholder_problems(template, steps=NPS_WAIT) == []
    # Without the wait step, its facts are not there to read.
    assert template_placeholder_problems("{{ context.steps.nps_answer.score }}", steps=[])


def test_publishing_refuses_a_typo_under_the_steps_field(admin_user, playbook):  # noqa: F811
    PlaybookStep.objects.create(
        playbook=playbook,
        key="kickoff",
        name="Kickoff",
        kind="task",
        config={"queue": "onboarding", "title": "Kickoff with {{ account.nam }}"},
    )

    with pytest.raises(ValidationFailed) as refusal:
        playbook_publish(playbook=playbook, actor=admin_user)

    assert refusal.value.errors == {
        "kickoff.config.title": ["“account.nam” is not a placeholder; did you mean “account.name”?"]
    }
    assert not playbook.versions.exists()


def test_an_imported_file_with_a_typo_is_refused_and_nothing_is_created(admin_user, playbook):  # noqa: F811
    PlaybookStep.objects.create(
        playbook=playbook,
        key="kickoff",
        name="Kickoff",
        kind="task",
        config={"queue": "onboarding", "title": "Kickoff with {{ account.name }}"},
    )
    document = playbook_export(version=playbook_publish(playbook=playbook, actor=admin_user))
    document["playbook"]["steps"][0]["config"]["title"] = "Hi {{ contact.nmae }}"

    with pytest.raises(ValidationFailed) as refusal:
        playbook_import(data=json.dumps(document).encode(), actor=admin_user)

    assert refusal.value.errors == {
        "kickoff.config.title": [
            "“contact.nmae” is not a placeholder; did you mean “contact.name”?"
        ]
    }
    assert playbook.__class__.objects.count() == 1


def test_saving_refuses_a_typo_and_an_open_tag_under_their_fields(client, playbook):  # noqa: F811
    email = {
        "key": "welcome",
        "name": "Welcome",
        "kind": "email",
        "config": {"subject": "Welcome {{ account.nam }", "body": "Hi {{ contact.nmae }},"},
    }

    response = client.post(change_url(playbook), page_data(playbook, [KICKOFF, email]))

    assert response.status_code == 200
    page = response.content.decode()
    assert re.search(
        r'field-config-subject">\s*<ul class="errorlist[^>]*><li>'
        r"“{{ account.nam }” is not a complete placeholder; write “{{ account.name }}”.",
        page,
    )
    assert re.search(
        r'field-config-body">\s*<ul class="errorlist[^>]*><li>'
        r"“contact.nmae” is not a placeholder; did you mean “contact.name”\?",
        page,
    )
    assert not playbook.steps.exists()


def test_a_template_may_read_a_wait_step_added_in_the_same_submission(client, playbook):  # noqa: F811
    thanks = {
        **KICKOFF,
        "key": "thanks",
        "config": {
            **KICKOFF["config"],
            "title": "Thank {{ contact.name }} for {{ context.steps.nps_answer.score }}",
        },
        "start": "after_step",
        "after_step": "nps_answer",
    }

    response = client.post(change_url(playbook), page_data(playbook, [SURVEY, ANSWER, thanks]))

    assert response.status_code == 302, response.content.decode()[:3000]
    assert "context.steps.nps_answer.score" in playbook.steps.get(key="thanks").config["title"]


def test_the_preview_shows_the_problem_instead_of_a_blank(client, admin_user):
    deal = closable_deal(name="Northwind — Platform")
    client.force_login(admin_user)
    url = reverse("admin:playbooks_playbook_template_preview")
    waits = json.dumps([{"key": "nps_answer", "name": "NPS answer", "event": "survey.answered"}])

    typo = client.get(url, {"deal": deal.pk, "steps-0-config-title": "Hi {{ account.nam }}"})
    fact = client.get(
        url,
        {
            "deal": deal.pk,
            "steps": waits,
            "steps-2-config-title": "NPS {{ context.steps.nps_answer.score }}",
        },
    )
    no_wait = client.get(
        url, {"deal": deal.pk, "steps-2-config-title": "NPS {{ context.steps.nps_answer.score }}"}
    )

    assert "“account.nam” is not a placeholder; did you mean “account.name”?" in (
        typo.content.decode()
    )
    assert "NPS [NPS answer: score]" in fact.content.decode()
    assert "“context.steps.nps_answer.score” is not a placeholder" in no_wait.content.decode()
