import html

import pytest

from apps.playbooks.models import PlaybookStep
from apps.playbooks.services import playbook_publish
from tests.factories import onboarding_playbook

pytestmark = pytest.mark.django_db


def test_admin_shows_what_changed_between_two_versions(client, admin_user):
    playbook = onboarding_playbook()
    PlaybookStep.objects.filter(playbook=playbook, key="kickoff").update(name="Kickoff meeting")
    v2 = playbook_publish(playbook=playbook, actor=admin_user)
    client.force_login(admin_user)

    detail = client.get(f"/admin/playbooks/playbookversion/{v2.pk}/change/").content.decode()
    assert "Changes since v1" in detail

    page = html.unescape(
        client.get(f"/admin/playbooks/playbookversion/{v2.pk}/diff/").content.decode()
    )
    assert '-      "name": "Kickoff call",' in page
    assert '+      "name": "Kickoff meeting",' in page


def test_diff_names_a_missing_version(client, admin_user):
    playbook = onboarding_playbook()
    v1 = playbook.current_version
    client.force_login(admin_user)
    page = client.get(f"/admin/playbooks/playbookversion/{v1.pk}/diff/", {"against": "7"})
    assert "has no version 7" in page.content.decode()


def test_diff_needs_permission(client, outsider):
    v1 = onboarding_playbook().current_version
    outsider.is_staff = True
    outsider.save()
    client.force_login(outsider)
    assert client.get(f"/admin/playbooks/playbookversion/{v1.pk}/diff/").status_code == 403
