import pytest
from django.urls import reverse

from apps.playbooks.models import Playbook, PlaybookStep, PlaybookVersion
from apps.queues.models import Queue
from tests.playbooks.test_builder_admin import page_data

pytestmark = pytest.mark.django_db


def kickoff_config(**overrides) -> dict:
    config = {
        "queue": "onboarding",
        "title": "Kickoff call with {{ account.name }}",
        "assign_to": "account_csm",
        "priority": 2,
    }
    config.update(overrides)
    return config


def draft_playbook(**config_overrides) -> Playbook:
    Queue.objects.get_or_create(slug="onboarding", defaults={"name": "Onboarding"})
    playbook = Playbook.objects.create(name="New customer onboarding")
    PlaybookStep.objects.create(
        playbook=playbook,
        position=1,
        key="kickoff",
        name="Kickoff call",
        kind="task",
        config=kickoff_config(**config_overrides),
    )
    return playbook


def publish_url(playbook: Playbook) -> str:
    return reverse("admin:playbooks_playbook_publish", args=[playbook.pk])


def test_publish_button_creates_a_version(client, admin_user):
    playbook = draft_playbook()
    client.force_login(admin_user)

    page = client.get(reverse("admin:playbooks_playbook_change", args=[playbook.pk]))
    assert f'href="{publish_url(playbook)}"' in page.content.decode()
    confirm = client.get(publish_url(playbook))
    assert "Publish version 1" in confirm.content.decode()

    response = client.post(publish_url(playbook), follow=True)

    assert "Published “New customer onboarding” as version 1." in response.content.decode()
    playbook.refresh_from_db()
    assert playbook.status == Playbook.Status.ACTIVE
    assert playbook.current_version.number == 1
    assert playbook.current_version.published_by == admin_user
    assert [s["key"] for s in playbook.current_version.steps] == ["kickoff"]


def test_publishing_a_second_version_links_to_moving_running_enrollments(client, admin_user):
    playbook = draft_playbook()
    client.force_login(admin_user)
    first = client.post(publish_url(playbook), follow=True).content.decode()
    assert "move running enrollments" not in first  # nothing can run on an older version
    playbook.steps.update(name="Kickoff call, by video")

    response = client.post(publish_url(playbook), follow=True)

    version = playbook.versions.get(number=2)
    move = reverse("admin:engine_enrollmentmove_add") + f"?to_version={version.pk}"
    html = response.content.decode()
    assert "Published “New customer onboarding” as version 2." in html
    assert (
        f'Enrollments already running stay on their version: <a href="{move}">'
        "move running enrollments to version 2</a>."
    ) in html


def test_broken_step_config_is_reported_and_nothing_is_published(client, admin_user):
    playbook = draft_playbook(queue="no-such-queue")
    client.force_login(admin_user)

    response = client.post(publish_url(playbook), follow=True)

    html = response.content.decode()
    assert "“New customer onboarding” cannot be published." in html
    assert "Step “kickoff” (queue): There is no queue with the slug “no-such-queue”." in html
    assert not PlaybookVersion.objects.exists()
    assert Playbook.objects.get(pk=playbook.pk).status == Playbook.Status.DRAFT


def test_publish_action_publishes_the_selected_playbooks(client, admin_user):
    playbook = draft_playbook()
    client.force_login(admin_user)

    response = client.post(
        reverse("admin:playbooks_playbook_changelist"),
        {"action": "publish_selected", "_selected_action": [playbook.pk]},
        follow=True,
    )

    assert "as version 1." in response.content.decode()
    assert PlaybookVersion.objects.filter(playbook=playbook, number=1).exists()


def test_cs_manager_cannot_publish(client, cs_manager):
    playbook = draft_playbook()
    client.force_login(cs_manager)

    assert client.post(publish_url(playbook)).status_code == 403
    assert not PlaybookVersion.objects.exists()


def test_saving_a_step_checks_its_config_against_the_kind(client, admin_user):
    playbook = draft_playbook()
    client.force_login(admin_user)
    step = playbook.steps.get()
    fields = {"id": step.pk, "key": "kickoff", "name": "Kickoff call", "kind": "task"}
    config = {"queue": "onboarding", "assign_to": "account_csm", "priority": "2"}
    url = reverse("admin:playbooks_playbook_change", args=[playbook.pk])

    response = client.post(url, page_data(playbook, [{**fields, "config": config}]))

    assert response.status_code == 200
    assert "This field is required." in response.content.decode()
    step.refresh_from_db()
    assert step.config["title"] == "Kickoff call with {{ account.name }}"

    config["title"] = "Welcome {{ account.name }}"
    saved = client.post(url, page_data(playbook, [{**fields, "config": config}]))

    assert saved.status_code == 302
    step.refresh_from_db()
    assert step.config["title"] == "Welcome {{ account.name }}"
