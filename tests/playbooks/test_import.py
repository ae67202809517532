"""Importing a playbook file: a valid file round-trips as a draft; a file with any
problem is refused with every problem listed, and nothing is created."""

import json

import pytest

from apps.core.errors import ValidationFailed
from apps.playbooks.models import Playbook, PlaybookStep
from apps.playbooks.services import playbook_publish
from apps.playbooks.transfer import (
    FORMAT,
    MAX_FILE_BYTES,
    export_bytes,
    playbook_export,
    playbook_import,
)
from apps.queues.models import Queue

pytestmark = pytest.mark.django_db


def rich_playbook() -> Playbook:
    """A published playbook that uses every part of a step: timing, send window,
    repetition, a chain of steps and a condition, plus filters and cancel rules."""
    Queue.objects.get_or_create(slug="onboarding", defaults={"name": "Onboarding"})
    playbook = Playbook.objects.create(
        name="Enterprise onboarding",
        description="For big new customers.",
        filters={"deal_kinds": ["new_business"], "min_amount": "10000"},
        cancel_on=["deal.reopened"],
        enrollment_policy=Playbook.Policy.EVERY_TRIGGER,
        account_cooldown_days=30,
    )
    PlaybookStep.objects.create(
        playbook=playbook,
        position=1,
        key="kickoff",
        name="Kickoff call",
        kind="task",
        config={"queue": "onboarding", "title": "Kickoff with {{ account.name }}", "priority": 2},
        at_time="10:00",
    )
    PlaybookStep.objects.create(
        playbook=playbook,
        position=2,
        key="check-in",
        name="Quarterly check-in",
        kind="task",
        config={"queue": "onboarding", "title": "Check in with {{ account.name }}"},
        start="after_step",
        after_step="kickoff",
        delay_days=5,
        business_days=True,
        window_start="09:00",
        window_end="17:00",
        repeat_every_days=90,
        repeat_max=4,
        conditions=[{"field": "deal.amount", "op": ">=", "value": 50000}],
    )
    playbook_publish(playbook=playbook, actor=None)
    playbook.refresh_from_db()
    return playbook


def file_with(mutate) -> bytes:
    document = playbook_export(version=rich_playbook().current_version)
    mutate(document)
    return json.dumps(document).encode()


def refused(data: bytes, **kwargs) -> dict[str, list[str]]:
    before = (Playbook.objects.count(), PlaybookStep.objects.count())
    with pytest.raises(ValidationFailed) as refusal:
        playbook_import(data=data, actor=None, **kwargs)
    assert (Playbook.objects.count(), PlaybookStep.objects.count()) == before
    return refusal.value.errors


def test_an_exported_version_imports_as_a_draft_with_the_same_steps(admin_user):
    version = rich_playbook().current_version

    imported = playbook_import(data=export_bytes(version), actor=admin_user)

    draft = imported.playbook
    assert draft.name == "Enterprise onboarding (imported)"
    assert imported.renamed_from == "Enterprise onboarding"
    assert (draft.status, draft.current_version) == (Playbook.Status.DRAFT, None)
    assert draft.trigger == version.trigger
    assert draft.filters == version.filters
    assert draft.cancel_on == ["deal.reopened"]
    assert (draft.enrollment_policy, draft.account_cooldown_days) == ("every_trigger", 30)
    assert [step.as_snapshot() for step in draft.steps.all()] == version.steps
    # Published again, it is the same version: the file lost nothing.
    republished = playbook_publish(playbook=draft, actor=admin_user)
    assert republished.steps == version.steps
    assert (republished.filters, republished.cancel_on) == (version.filters, version.cancel_on)


def test_the_draft_takes_the_files_name_when_it_is_free():
    data = export_bytes(rich_playbook().current_version)
    Playbook.objects.filter(name="Enterprise onboarding").update(name="Renamed meanwhile")

    imported = playbook_import(data=data, actor=None)

    assert (imported.playbook.name, imported.renamed_from) == ("Enterprise onboarding", "")


def test_a_second_import_of_the_same_file_gets_the_next_free_name():
    data = export_bytes(rich_playbook().current_version)
    playbook_import(data=data, actor=None)

    second = playbook_import(data=data, actor=None)

    assert second.playbook.name == "Enterprise onboarding (imported 2)"


def test_a_name_chosen_by_the_importer_is_used_and_refused_if_taken():
    data = export_bytes(rich_playbook().current_version)

    assert playbook_import(data=data, actor=None, name="EMEA onboarding").playbook.name == (
        "EMEA onboarding"
    )
    errors = refused(data, name="EMEA onboarding")
    assert errors == {"name": ["A playbook named “EMEA onboarding” already exists."]}


def test_an_unknown_kind_a_cycle_and_a_bad_template_are_refused_together():
    def break_it(document):
        steps = document["playbook"]["steps"]
        steps[0]["kind"] = "carrier_pigeon"
        steps[0]["start"], steps[0]["after_step"] = "after_step", "check-in"  # a cycle
        steps[1]["config"]["title"] = "Check in with {{ account.name|shout }}"

    errors = refused(file_with(break_it))

    assert errors["kickoff.kind"][0].startswith("Unknown step kind 'carrier_pigeon'")
    [template_problem] = errors["check-in.config.title"]
    assert template_problem.startswith("Template error:")
    assert "Invalid filter: 'shout'" in template_problem
    cycle = errors["kickoff.after_step"] + errors["check-in.after_step"]
    assert "These steps wait for each other: kickoff → check-in → kickoff" in cycle


def test_an_unknown_trigger_and_cancel_event_are_refused():
    def break_it(document):
        document["playbook"]["trigger"] = "deal.vanished"
        document["playbook"]["cancel_on"] = ["deal.reopened", "moon.landed"]

    errors = refused(file_with(break_it))

    assert "deal.vanished" in errors["trigger"][0]
    assert errors["cancel_on"][0].startswith("Cancel on a list of: ")


def test_duplicate_step_keys_and_duplicate_json_keys_are_refused():
    def same_key(document):
        document["playbook"]["steps"][1]["key"] = "kickoff"
        document["playbook"]["steps"][1]["start"] = "enrollment"

    errors = refused(file_with(same_key))
    assert errors["kickoff.key"] == ["The step key “kickoff” is used more than once."]

    twice = b'{"format": "afterwin.playbook", "format": "other", "format_version": 1}'
    assert refused(twice) == {"file": ["The key “format” appears twice in one object."]}


def test_every_shape_problem_of_the_file_is_listed_by_field():
    def break_it(document):
        playbook = document["playbook"]
        playbook["name"] = ""
        playbook["enrollment_policy"] = "sometimes"
        playbook["account_cooldown_days"] = -1
        playbook["colour"] = "blue"
        steps = playbook["steps"]
        steps[0]["delay_days"] = "three"
        steps[0]["at_time"] = "25:00"
        steps[1]["config"] = "not an object"
        steps.append("not a step")

    errors = refused(file_with(break_it))

    assert errors == {
        "name": ["The playbook needs a name."],
        "enrollment_policy": ["Use one of: once_per_deal, every_trigger."],
        "account_cooldown_days": ["Use a whole number of days, 0 or more, or null."],
        "colour": ["Unknown playbook field “colour”."],
        "kickoff.delay_days": ["Use a whole number, 0 or more."],
        "kickoff.at_time": ["Use a time of day as HH:MM (24-hour clock), or null."],
        "check-in.config": ["The config must be an object."],
        "step 3": ["A step must be an object with a key, a name and a kind."],
    }


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        (b"", "file", "The file is empty."),
        (b"\xff\xfe not text", "file", "The file is not UTF-8 text; export a playbook to get one."),
        (b"name: onboarding", "file", "Not JSON: Expecting value at line 1, column 1."),
        (b"[1, 2]", "file", "Not a playbook file: expected a JSON object."),
        (b'{"format": "zapier.zap"}', "format", None),
        (json.dumps({"format": FORMAT, "format_version": 2}).encode(), "format_version", None),
        (json.dumps({"format": FORMAT, "format_version": 1}).encode(), "playbook", None),
        (b"[" * 100_000 + b"]" * 100_000, "file", None),
    ],
    ids=["empty", "not-utf8", "not-json", "not-object", "format", "version", "no-playbook", "deep"],
)
def test_files_that_are_not_playbook_files_are_refused(data, field, message):
    errors = refused(data[:MAX_FILE_BYTES])
    assert list(errors) == [field]
    if message:
        assert errors[field] == [message]


def test_an_oversized_file_is_refused_before_it_is_parsed():
    data = b" " * MAX_FILE_BYTES + b"{}"
    errors = refused(data)
    assert errors["file"][0].startswith(f"The file is {len(data):,} bytes")


def test_a_step_config_naming_a_queue_this_installation_lacks_is_refused():
    data = export_bytes(rich_playbook().current_version)
    Queue.objects.filter(slug="onboarding").update(slug="new-customers")

    errors = refused(data)

    assert errors["kickoff.config.queue"] == ["There is no queue with the slug “onboarding”."]


def test_a_chosen_name_longer_than_a_playbook_name_is_refused():
    data = export_bytes(rich_playbook().current_version)
    assert refused(data, name="x" * 201) == {"name": ["A playbook name is at most 200 characters."]}
