"""The top bar's search: accounts, contacts, deals and tasks the viewer may see, grouped,
with links; friendly messages for an empty, too short or too long query; a NUL
character is a 400 naming the field."""

import pytest
from django.urls import reverse

from apps.workspace.search import search
from tests.factories import (
    AccountFactory,
    ContactFactory,
    DealFactory,
    QueueFactory,
    TaskFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db
URL = reverse("workspace:search")


@pytest.fixture
def umbrella(csm, rep):
    account = AccountFactory(name="Umbrella Corp", domain="umbrella.example")
    ContactFactory(account=account, name="Alice Umbrella", email="alice@umbrella.example")
    DealFactory(account=account, name="Umbrella renewal")
    onboarding = QueueFactory(name="Onboarding", slug="onboarding")
    onboarding.members.add(csm)
    TaskFactory(account=account, title="Umbrella kickoff", queue=onboarding)
    TaskFactory(account=account, title="Umbrella pricing", queue=QueueFactory(name="Finance"))
    TaskFactory(account=account, title="Umbrella handoff", assignee=rep)
    AccountFactory(name="Stark Industries")
    return account


def titles(results) -> list[str]:
    return sorted(task.title for task in results.tasks)


def test_a_csm_finds_every_kind_but_only_their_queues_tasks(csm, umbrella):
    results = search(user=csm, term="umbrella")

    assert [a.name for a in results.accounts] == ["Umbrella Corp"]
    assert [c.name for c in results.contacts] == ["Alice Umbrella"]
    assert [d.name for d in results.deals] == ["Umbrella renewal"]
    assert titles(results) == ["Umbrella kickoff"]


def test_a_rep_finds_only_the_tasks_assigned_to_them(rep, umbrella):
    results = search(user=rep, term="umbrella")

    assert titles(results) == ["Umbrella handoff"]
    assert [a.name for a in results.accounts] == ["Umbrella Corp"]


def test_an_admin_finds_every_task(admin_user, umbrella):
    assert titles(search(user=admin_user, term="UMBRELLA")) == [
        "Umbrella handoff",
        "Umbrella kickoff",
        "Umbrella pricing",
    ]


def test_someone_without_permissions_finds_nothing(outsider, umbrella):
    assert search(user=outsider, term="umbrella").empty


def test_contacts_are_found_by_email_and_accounts_by_domain(csm, umbrella):
    results = search(user=csm, term="umbrella.example")

    assert [a.name for a in results.accounts] == ["Umbrella Corp"]
    assert [c.name for c in results.contacts] == ["Alice Umbrella"]


def test_the_page_groups_results_with_links(client, csm, umbrella):
    client.force_login(csm)

    response = client.get(URL, {"q": "umbrella"})

    body = response.content.decode()
    assert response.status_code == 200
    for heading in ("Accounts", "Contacts", "Deals", "Tasks"):
        assert f"<h3>{heading}</h3>" in body
    assert reverse("workspace:account_detail", args=[umbrella.pk]) in body
    assert "Umbrella pricing" not in body


def test_the_dropdown_shows_a_few_and_links_to_all(client, csm, umbrella):
    client.force_login(csm)

    response = client.get(reverse("workspace:search_suggest"), {"q": "umb"}, HTTP_HX_REQUEST="true")

    body = response.content.decode()
    assert "Umbrella Corp" in body
    assert f"{URL}?q=umb" in body
    assert "<html" not in body


@pytest.mark.parametrize(
    ("q", "message"),
    [
        ("", "Type a name, an email, a deal or a task to search."),
        ("   ", "Type a name, an email, a deal or a task to search."),
        ("u", "Type at least 2 characters."),
        ("u" * 101, "Searches are at most 100 characters; shorten it."),
        ("zzzz", "Nothing matches “zzzz”."),
    ],
)
def test_friendly_messages(client, csm, umbrella, q, message):
    client.force_login(csm)

    response = client.get(URL, {"q": q})

    assert response.status_code == 200
    assert message in response.content.decode()


@pytest.mark.parametrize("url", [URL, reverse("workspace:search_suggest")])
def test_a_nul_character_is_a_400_naming_the_field(client, csm, url):
    client.force_login(csm)

    response = client.get(url, {"q": "umb\x00rella"})

    assert response.status_code == 400
    assert "q: Null characters are not allowed." in response.content.decode()


def test_the_top_bar_has_the_search_box(client):
    client.force_login(UserFactory(role="CSM"))

    body = client.get(reverse("notifications:list")).content.decode()

    assert 'role="search"' in body
    assert f'hx-get="{reverse("workspace:search_suggest")}"' in body
