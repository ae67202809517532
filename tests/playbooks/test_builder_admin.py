"""The playbook's admin page as an admin uses it: filters, cancel rules, step settings
and conditions are fields; what it stores is the JSON the engine always read."""

import json
import re
from html import unescape

import pytest
from django.urls import reverse

from apps.playbooks.models import Playbook, PlaybookStep
from apps.queues.models import Queue
from tests.playbooks.test_builder_forms import pulse_kind  # noqa: F401 (a fixture)

pytestmark = pytest.mark.django_db

TIMING = {
    "start": "enrollment",
    "after_step": "",
    "delay_days": "0",
    "delay_hours": "0",
    "at_time": "",
    "window_start": "",
    "window_end": "",
    "repeat_every_days": "",
    "repeat_max": "",
}


def page_data(playbook: Playbook, steps: list[dict], **settings) -> dict:
    """The change form as the browser sends it. A step is its model fields plus
    ``config`` (the kind's fields) and ``rules`` (rows of field, op, value)."""
    data = {
        "name": playbook.name,
        "description": "",
        "trigger": "deal.closed_won",
        "enrollment_policy": "once_per_deal",
        "account_cooldown_days": "",
        "cancel_on": ["deal.reopened", "deal.closed_lost", "account.churned"],
        "steps-TOTAL_FORMS": str(len(steps)),
        "steps-INITIAL_FORMS": str(sum(1 for s in steps if s.get("id"))),
        "versions-TOTAL_FORMS": "0",
        "versions-INITIAL_FORMS": "0",
        **settings,
    }
    for index, step in enumerate(steps):
        prefix = f"steps-{index}"
        fields = {**TIMING, "id": "", "playbook": playbook.pk, "position": index + 1, **step}
        config, rules = fields.pop("config", {}), fields.pop("rules", [])
        match = fields.pop("match", "all")
        for name, value in fields.items():
            data[f"{prefix}-{name}"] = value
        for name, value in config.items():
            data[f"{prefix}-config-{name}"] = value
        data[f"{prefix}-conditions-match"] = match
        data[f"{prefix}-conditions-rows"] = str(len(rules) + 1)  # and one empty row
        for row, (field, op, value) in enumerate(rules):
            data[f"{prefix}-conditions-{row}-field"] = field
            data[f"{prefix}-conditions-{row}-op"] = op
            data[f"{prefix}-conditions-{row}-value"] = value
    return data


@pytest.fixture
def playbook(admin_user, client):
    Queue.objects.get_or_create(slug="onboarding", defaults={"name": "Onboarding"})
    client.force_login(admin_user)
    return Playbook.objects.create(name="Onboarding")


def change_url(playbook: Playbook) -> str:
    return reverse("admin:playbooks_playbook_change", args=[playbook.pk])


KICKOFF = {
    "key": "kickoff",
    "name": "Kickoff call",
    "kind": "task",
    "config": {
        "queue": "onboarding",
        "title": "Kickoff with {{ account.name }}",
        "assign_to": "account_csm",
        "priority": "2",
    },
}


def test_filters_and_cancel_rules_are_stored_as_the_engine_reads_them(client, playbook):
    data = page_data(
        playbook,
        [KICKOFF],
        deal_kinds=["new_business"],
        account_tiers=["enterprise", "mid_market"],
        min_amount="10000",
        max_amount="",
        cancel_on=["deal.reopened"],
    )

    response = client.post(change_url(playbook), data)

    assert response.status_code == 302, response.content.decode()[:3000]
    playbook.refresh_from_db()
    assert playbook.filters == {
        "deal_kinds": ["new_business"],
        "account_tiers": ["enterprise", "mid_market"],
        "min_amount": 10000,
    }
    assert playbook.cancel_on == ["deal.reopened"]
    assert playbook.steps.get().config == {
        "queue": "onboarding",
        "title": "Kickoff with {{ account.name }}",
        "assign_to": "account_csm",
        "priority": 2,
    }


def test_every_cancel_event_ticked_is_stored_as_before_and_none_is_refused(client, playbook):
    client.post(change_url(playbook), page_data(playbook, [KICKOFF]))
    playbook.refresh_from_db()
    assert playbook.cancel_on == []  # every registered cancel event, as before

    response = client.post(change_url(playbook), page_data(playbook, [KICKOFF], cancel_on=[]))

    assert response.status_code == 200
    assert "Tick at least one event that ends the enrollment." in response.content.decode()


def test_an_amount_range_upside_down_is_refused_next_to_the_field(client, playbook):
    data = page_data(playbook, [KICKOFF], min_amount="5000", max_amount="100")

    response = client.post(change_url(playbook), data)

    html = response.content.decode()
    assert re.search(r"field-max_amount.*?The largest amount is below the smallest", html, re.S)
    assert Playbook.objects.get(pk=playbook.pk).filters == {}


SURVEY = {
    "key": "nps",
    "name": "NPS survey",
    "kind": "survey",
    "config": {"survey": "nps", "to": "primary_contact"},
    "delay_days": "30",
    "at_time": "10:00",
}
ANSWER = {
    "key": "nps_answer",
    "name": "NPS answer",
    "kind": "wait",
    "config": {"until_event": "survey.answered", "for_step": "nps"},
    "start": "after_step",
    "after_step": "nps",
    "delay_days": "14",
}


def test_a_survey_branch_is_built_from_fields_and_rows(client, playbook):
    survey, answer = SURVEY, ANSWER
    client.post(change_url(playbook), page_data(playbook, [survey, answer]))
    saved = {step.key: step.pk for step in playbook.steps.all()}
    assert set(saved) == {"nps", "nps_answer"}

    # Without JavaScript, a saved wait step is what conditions offer.
    page = client.get(change_url(playbook)).content.decode()
    assert '<option value="steps.nps_answer.score">NPS answer: score</option>' in page

    call_back = {
        "key": "call_back",
        "name": "Call back",
        "kind": "task",
        "config": {
            "queue": "onboarding",
            "title": "Call {{ contact.name }}",
            "assign_to": "account_csm",
            "priority": "1",
        },
        "start": "after_step",
        "after_step": "nps_answer",
        "match": "any",
        "rules": [
            ("steps.nps_answer.score", "<=", "6"),
            ("steps.nps_answer.outcome", "==", "timeout"),
        ],
    }
    steps = [{**survey, "id": saved["nps"]}, {**answer, "id": saved["nps_answer"]}, call_back]
    response = client.post(change_url(playbook), page_data(playbook, steps))

    assert response.status_code == 302
    step = playbook.steps.get(key="call_back")
    assert step.conditions == {
        "any": [
            {"field": "steps.nps_answer.score", "op": "<=", "value": 6},
            {"field": "steps.nps_answer.outcome", "op": "==", "value": "timeout"},
        ]
    }
    assert playbook.steps.get(key="nps").config == {"survey": "nps", "to": "primary_contact"}
    page = client.get(change_url(playbook)).content.decode()
    assert "Day 30 at 10:00 — NPS survey (survey, nps)" in page
    assert "After NPS answer: if score ≤ 6 or outcome = timeout — Call back (task, CSM)" in page


def call_back(*rules) -> dict:
    return {
        **KICKOFF,
        "key": "call_back",
        "name": "Call back",
        "start": "after_step",
        "after_step": "nps_answer",
        "rules": list(rules),
    }


def test_a_condition_can_read_a_wait_step_added_in_the_same_submission(client, playbook):
    steps = [SURVEY, ANSWER, call_back(("steps.nps_answer.score", "<=", "6"))]

    response = client.post(change_url(playbook), page_data(playbook, steps))

    assert response.status_code == 302, response.content.decode()[:3000]
    assert playbook.steps.get(key="call_back").conditions == [
        {"field": "steps.nps_answer.score", "op": "<=", "value": 6}
    ]


def test_the_page_tells_the_builder_what_each_waited_event_offers(client, playbook):
    page = client.get(change_url(playbook)).content.decode()

    offered = re.search(r'data-wait-step-fields="(.*?)"', page).group(1)
    fields = json.loads(unescape(offered))
    assert fields[""] == [["outcome", "outcome"]]
    assert fields["survey.answered"][0] == ["outcome", "outcome"]
    assert ["score", "score"] in fields["survey.answered"]


def test_a_condition_on_a_step_the_playbook_does_not_have_is_refused_under_it(client, playbook):
    steps = [SURVEY, ANSWER, call_back(("steps.nps_reply.score", "<=", "6"))]

    response = client.post(change_url(playbook), page_data(playbook, steps))

    assert response.status_code == 200
    page = response.content.decode()
    assert re.search(
        r'field-conditions">\s*<ul class="errorlist[^>]*><li>'
        r"Rule 1: there is no step with the key “nps_reply”.",
        page,
    )
    assert not playbook.steps.exists()


def test_a_condition_on_a_wait_step_deleted_in_the_same_submission_is_refused(client, playbook):
    client.post(change_url(playbook), page_data(playbook, [SURVEY, ANSWER]))
    saved = {step.key: step.pk for step in playbook.steps.all()}
    steps = [
        {**SURVEY, "id": saved["nps"]},
        {**ANSWER, "id": saved["nps_answer"], "DELETE": "on"},
        call_back(("steps.nps_answer.outcome", "==", "timeout")),
    ]

    response = client.post(change_url(playbook), page_data(playbook, steps))

    assert "Rule 1: there is no step with the key “nps_answer”." in response.content.decode()
    assert set(playbook.steps.values_list("key", flat=True)) == {"nps", "nps_answer"}


def test_a_problem_with_a_setting_is_shown_under_that_setting(client, playbook):
    broken = {**KICKOFF, "config": {**KICKOFF["config"], "title": "Kickoff {% if %}"}}
    no_title = {**KICKOFF, "key": "second", "config": {**KICKOFF["config"], "title": ""}}

    response = client.post(change_url(playbook), page_data(playbook, [broken, no_title]))

    html = response.content.decode()
    rows = re.findall(r'<div class="form-row errors field-config-title">(.*?)</div>', html, re.S)
    assert len(rows) == 2
    assert "Template error" in rows[0]
    assert "This field is required." in rows[1]
    assert not playbook.steps.exists()


def test_a_rule_without_an_operator_is_refused_with_its_number(client, playbook):
    step = {**KICKOFF, "rules": [("deal.amount", "", "10000")]}

    response = client.post(change_url(playbook), page_data(playbook, [step]))

    assert "Rule 1: choose an operator." in response.content.decode()
    assert not playbook.steps.exists()


def test_changing_the_kind_shows_the_new_kinds_settings_and_keeps_nothing_old(client, playbook):
    step = PlaybookStep.objects.create(
        playbook=playbook,
        position=1,
        key="kickoff",
        name="Kickoff",
        kind="task",
        config={"queue": "onboarding", "title": "Kickoff", "legacy": True},
    )
    as_email = {**KICKOFF, "id": step.pk, "kind": "email", "config": KICKOFF["config"]}

    response = client.post(change_url(playbook), page_data(playbook, [as_email]))

    html = response.content.decode()
    assert 'name="steps-0-config-subject"' in html
    assert 'name="steps-0-config-queue"' not in html
    step.refresh_from_db()
    assert step.kind == "task"

    email = {**as_email, "config": {"subject": "Welcome", "body": "Hello"}}
    assert client.post(change_url(playbook), page_data(playbook, [email])).status_code == 302
    step.refresh_from_db()
    assert step.config == {"subject": "Welcome", "body": "Hello"}


def test_a_setting_the_form_does_not_show_is_kept(client, playbook):
    step = PlaybookStep.objects.create(
        playbook=playbook,
        position=1,
        key="kickoff",
        name="Kickoff",
        kind="task",
        config={"queue": "onboarding", "title": "Kickoff", "legacy": True},
    )

    data = page_data(playbook, [{**KICKOFF, "id": step.pk}])
    assert client.post(change_url(playbook), data).status_code == 302

    step.refresh_from_db()
    assert step.config["title"] == "Kickoff with {{ account.name }}"
    assert step.config["legacy"] is True


def test_a_new_kinds_settings_are_saved_from_its_own_fields(client, playbook, pulse_kind):  # noqa: F811
    ask = {"key": "ask", "name": "Ask", "kind": "pulse_ask", "config": {"scale": "11"}}

    refused = client.post(change_url(playbook), page_data(playbook, [ask]))

    html = refused.content.decode()
    assert re.search(r'field-config-scale">.*?less than or equal to 10', html, re.S)
    assert re.search(r'field-config-question">.*?This field is required', html, re.S)

    ask["config"] = {"question": "How is it going, {{ contact.name }}?", "scale": "7"}
    assert client.post(change_url(playbook), page_data(playbook, [ask])).status_code == 302
    assert playbook.steps.get().config == {
        "question": "How is it going, {{ contact.name }}?",
        "scale": 7,
        "anonymous": False,
    }


def test_a_stored_filter_value_no_longer_on_offer_is_kept(client, playbook):
    playbook.filters = {"account_segments": ["Aerospace"]}
    playbook.save()

    page = client.get(change_url(playbook)).content.decode()
    assert '<option value="Aerospace" selected>Aerospace</option>' in page

    data = page_data(playbook, [KICKOFF], account_segments=["Aerospace"])
    assert client.post(change_url(playbook), data).status_code == 302
    playbook.refresh_from_db()
    assert playbook.filters == {"account_segments": ["Aerospace"]}
