"""The builder's forms: each step kind's settings are fields, every stored config reads
back unchanged, and a kind registered by a new app brings its own fields."""

import pytest
from django import forms
from django.urls import reverse

from apps.core import step_kinds
from apps.core.errors import ValidationFailed
from apps.demo.data import EXPANSION_STEPS, PLAYBOOK_STEPS, QBR_STEPS, RNPS_STEPS
from apps.demo.health import HEALTH_PLAYBOOK_STEPS
from apps.playbooks.models import Playbook, PlaybookStep
from apps.playbooks.placeholders import PLACEHOLDERS, template_context
from apps.playbooks.services import playbook_publish
from apps.queues.models import Queue
from tests.factories import closable_deal

pytestmark = pytest.mark.django_db


@pytest.fixture
def queues():
    for slug in ("onboarding", "escalations", "customer-success", "referrals"):
        Queue.objects.get_or_create(slug=slug, defaults={"name": slug.title()})


DEMO_STEPS = [*PLAYBOOK_STEPS, *QBR_STEPS, *RNPS_STEPS, *EXPANSION_STEPS, *HEALTH_PLAYBOOK_STEPS]


@pytest.mark.parametrize("step", DEMO_STEPS, ids=[s["key"] for s in DEMO_STEPS])
def test_every_demo_step_reads_back_through_its_form_unchanged(queues, step):
    form_class = step_kinds.get(step["kind"]).config_form

    form = form_class.from_config(step["config"])

    assert form.is_valid(), form.errors
    assert form.to_config() == step["config"]


def test_every_registered_kind_declares_its_settings_as_a_form():
    assert {kind.name for kind in step_kinds.all_kinds() if kind.config_form is None} == set()


def test_a_task_form_refuses_what_publishing_refuses(queues):
    form = step_kinds.get("task").config_form.from_config({"queue": "onboarding"})

    assert not form.is_valid()
    assert form.errors["title"] == ["This field is required."]


class PulseForm(step_kinds.StepConfigForm):
    question = step_kinds.TemplateField(help_text="What to ask.")
    scale = forms.IntegerField(min_value=2, max_value=10, initial=5)
    anonymous = forms.BooleanField(required=False)


@pytest.fixture
def pulse_kind():
    """What a new app's ``AppConfig.ready()`` registers: a kind with a form and nothing else."""
    saved = dict(step_kinds._registry)
    step_kinds.register(
        step_kinds.StepKind(
            name="pulse_ask",
            label="Pulse question",
            execute=lambda execution: {"summary": "asked"},
            config_form=PulseForm,
        )
    )
    yield step_kinds.get("pulse_ask")
    step_kinds._registry.clear()
    step_kinds._registry.update(saved)


def test_a_kind_with_only_a_form_is_validated_by_it(pulse_kind):
    assert pulse_kind.validate_config({"question": "How likely…?", "scale": 5}) == {}
    assert pulse_kind.validate_config({"scale": 11}) == {
        "question": ["This field is required."],
        "scale": ["Ensure this value is less than or equal to 10."],
    }
    # The form would read "5" as 5; the executor would get a string: refused.
    assert pulse_kind.validate_config({"question": "Q", "scale": "5"}) == {
        "scale": ['Use 5, not "5".']
    }
    # Registering the same kind again (an app made ready twice) is not a conflict.
    step_kinds.register(
        step_kinds.StepKind(
            name="pulse_ask",
            label="Pulse question",
            execute=pulse_kind.execute,
            config_form=PulseForm,
        )
    )


def test_publishing_checks_a_form_only_kind_with_its_form(pulse_kind):
    playbook = Playbook.objects.create(name="Pulse")
    PlaybookStep.objects.create(
        playbook=playbook, position=1, key="ask", name="Ask", kind="pulse_ask", config={}
    )

    with pytest.raises(ValidationFailed) as refused:
        playbook_publish(playbook=playbook, actor=None)

    assert refused.value.errors == {"ask.config.question": ["This field is required."]}


def test_a_new_kind_gets_its_fields_in_the_admin_without_an_admin_edit(
    client, admin_user, pulse_kind
):
    client.force_login(admin_user)

    response = client.get(
        reverse("admin:playbooks_playbook_step_config"), {"steps-3-kind": "pulse_ask"}
    )

    html = response.content.decode()
    assert 'name="steps-3-config-question"' in html
    assert 'name="steps-3-config-scale"' in html and 'value="5"' in html
    assert 'type="checkbox" name="steps-3-config-anonymous"' in html
    assert "Insert" in html  # the question is a template: it gets the placeholder picker


def test_the_placeholders_offered_are_the_ones_templates_can_read():
    deal = closable_deal()

    values = template_context(account=deal.account, deal=deal, enrollment_context={})

    for path, _label in PLACEHOLDERS:
        group, field = path.split(".")
        assert field in values[group], path


def test_a_template_previews_against_the_chosen_deal(client, admin_user):
    deal = closable_deal(name="Northwind — Platform")
    client.force_login(admin_user)
    url = reverse("admin:playbooks_playbook_template_preview")

    shown = client.get(url, {"deal": deal.pk, "steps-0-config-title": "Kickoff {{ deal.name }}"})
    broken = client.get(
        url, {"deal": deal.pk, "steps-0-config-title": "Kickoff {% if deal.name %}"}
    )
    no_deal = client.get(url, {"deal": "", "steps-0-config-title": "Hi"})

    assert "Kickoff Northwind — Platform" in shown.content.decode()
    assert "Template error" in broken.content.decode()
    assert "Choose a deal" in no_deal.content.decode()


def test_people_without_the_playbook_permission_get_no_builder_partials(client, csm):
    client.force_login(csm)

    response = client.get(reverse("admin:playbooks_playbook_template_preview"))

    assert response.status_code in (302, 403)
