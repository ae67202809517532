"""Reuse in the admin: export a version as a file, import a file as a draft, clone a
playbook; the version page reads as tables with the raw JSON behind a disclosure."""

import json

import pytest
from django.contrib.admin.models import LogEntry
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from apps.playbooks.models import Playbook, PlaybookStep
from tests.playbooks.test_import import rich_playbook

pytestmark = pytest.mark.django_db

IMPORT_URL = "/admin/playbooks/playbook/import/"


def upload(content: bytes, name: str = "onboarding-v1.json") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="application/json")


def export(client, playbook: Playbook):
    url = reverse("admin:playbooks_playbookversion_export", args=[playbook.current_version_id])
    return client.get(url)


def test_the_version_page_exports_a_file_that_imports_as_a_draft(client, admin_user):
    playbook = rich_playbook()
    client.force_login(admin_user)

    page = client.get(
        reverse("admin:playbooks_playbookversion_change", args=[playbook.current_version_id])
    )
    assert "Export as a file (enterprise-onboarding-v1.json)" in page.content.decode()
    response = export(client, playbook)
    assert response["Content-Type"] == "application/json"
    assert response["Content-Disposition"] == (
        'attachment; filename="enterprise-onboarding-v1.json"'
    )

    imported = client.post(IMPORT_URL, {"file": upload(response.content), "name": ""}, follow=True)

    draft = Playbook.objects.get(name="Enterprise onboarding (imported)")
    assert imported.redirect_chain[-1][0] == f"/admin/playbooks/playbook/{draft.pk}/change/"
    html = imported.content.decode()
    assert "Imported “Enterprise onboarding (imported)” as a draft with 2 steps." in html
    assert "A playbook named “Enterprise onboarding” already exists" in html
    assert list(draft.steps.values_list("key", flat=True)) == ["kickoff", "check-in"]
    [entry] = LogEntry.objects.filter(object_id=str(draft.pk))
    assert (entry.user, entry.is_addition()) == (admin_user, True)
    assert "Imported from the file “onboarding-v1.json”." in entry.get_change_message()


def test_a_bad_file_lists_every_problem_and_creates_nothing(client, admin_user):
    document = json.loads(export(client_logged_in(client, admin_user), rich_playbook()).content)
    document["playbook"]["trigger"] = "deal.vanished"
    document["playbook"]["steps"][0]["kind"] = "carrier_pigeon"
    document["playbook"]["steps"][1]["config"]["title"] = "{{ account.name|shout }}"
    before = Playbook.objects.count()

    page = client.post(IMPORT_URL, {"file": upload(json.dumps(document).encode())})

    assert page.status_code == 400
    html = page.content.decode()
    assert "Nothing was created: 3 problems in the file." in html
    assert "<td>trigger</td>" in html
    assert "<td>kickoff › kind</td>" in html
    assert "<td>check-in › title</td>" in html
    assert "Invalid filter: &#x27;shout&#x27;" in html
    assert Playbook.objects.count() == before


def test_a_taken_name_is_shown_next_to_the_name_field(client, admin_user):
    content = export(client_logged_in(client, admin_user), rich_playbook()).content

    page = client.post(IMPORT_URL, {"file": upload(content), "name": "Enterprise onboarding"})

    assert page.status_code == 400
    assert page.context["form"].errors["name"] == [
        "A playbook named “Enterprise onboarding” already exists."
    ]
    assert Playbook.objects.count() == 1


def test_an_oversized_upload_is_refused_by_the_form(client, admin_user, settings):
    client.force_login(admin_user)
    page = client.post(IMPORT_URL, {"file": upload(b" " * 300_000)})
    assert page.context["form"].errors["file"][0].startswith("The file is 300,000 bytes")
    assert not Playbook.objects.exists()


def test_import_and_clone_need_the_add_playbook_permission(client, outsider):
    playbook = rich_playbook()
    outsider.is_staff = True
    outsider.save()
    client.force_login(outsider)

    assert client.get(IMPORT_URL).status_code == 403
    clone_url = reverse("admin:playbooks_playbook_clone", args=[playbook.pk])
    assert client.post(clone_url, {"name": "Copy"}).status_code == 403
    assert Playbook.objects.count() == 1


def test_clone_makes_a_draft_copy_with_the_draft_steps(client, admin_user):
    playbook = rich_playbook()
    # An unpublished edit: the copy takes the draft, not the published version.
    playbook.steps.filter(key="kickoff").update(name="Kickoff call (edited)")
    client.force_login(admin_user)
    change = client.get(reverse("admin:playbooks_playbook_change", args=[playbook.pk]))
    clone_url = reverse("admin:playbooks_playbook_clone", args=[playbook.pk])
    assert f'href="{clone_url}"' in change.content.decode()
    assert 'value="Enterprise onboarding (copy)"' in client.get(clone_url).content.decode()

    response = client.post(clone_url, {"name": "Mid-market onboarding"}, follow=True)

    copy = Playbook.objects.get(name="Mid-market onboarding")
    assert "“Mid-market onboarding” is a draft copy of “Enterprise onboarding”" in (
        response.content.decode()
    )
    assert (copy.status, copy.current_version, copy.versions.count()) == ("draft", None, 0)
    assert (copy.filters, copy.cancel_on, copy.trigger) == (
        playbook.filters,
        playbook.cancel_on,
        playbook.trigger,
    )
    assert [s.as_snapshot() for s in copy.steps.all()] == [
        s.as_snapshot() for s in playbook.steps.all()
    ]
    assert copy.steps.get(key="kickoff").name == "Kickoff call (edited)"
    [entry] = LogEntry.objects.filter(object_id=str(copy.pk))
    assert entry.get_change_message() == "Cloned from “Enterprise onboarding”."
    # The original is untouched.
    assert playbook.steps.count() == 2 and PlaybookStep.objects.count() == 4


def test_clone_refuses_a_taken_name_next_to_the_field(client, admin_user):
    playbook = rich_playbook()
    client.force_login(admin_user)
    clone_url = reverse("admin:playbooks_playbook_clone", args=[playbook.pk])

    page = client.post(clone_url, {"name": "Enterprise onboarding"})

    assert page.status_code == 400
    assert page.context["form"].errors["name"] == [
        "A playbook named “Enterprise onboarding” already exists."
    ]
    assert Playbook.objects.count() == 1


def test_the_clone_action_names_each_copy_after_its_original(client, admin_user):
    playbook = rich_playbook()
    client.force_login(admin_user)

    for _ in range(2):
        client.post(
            "/admin/playbooks/playbook/",
            {"action": "clone_selected", "_selected_action": [playbook.pk]},
        )

    names = set(Playbook.objects.values_list("name", flat=True))
    assert names == {
        "Enterprise onboarding",
        "Enterprise onboarding (copy)",
        "Enterprise onboarding (copy 2)",
    }


def test_the_version_page_shows_tables_with_the_raw_json_behind_a_disclosure(client, admin_user):
    playbook = rich_playbook()
    client.force_login(admin_user)

    page = client.get(
        reverse("admin:playbooks_playbookversion_change", args=[playbook.current_version_id])
    )

    html = page.content.decode()
    assert "Deal closed won (deal.closed_won)" in html
    assert "<td>new_business</td>" in html  # the deal kinds filter
    assert "<li>Deal reopened (deal.reopened)</li>" in html
    assert "5 business days after “kickoff” finishes" in html
    assert "deal.amount ≥ 50000" in html
    assert "<li>title: Check in with {{ account.name }}</li>" in html
    assert html.count('<details class="raw-json"><summary>Raw JSON</summary>') == 3
    assert "<textarea" not in html


def client_logged_in(client, user):
    client.force_login(user)
    return client
