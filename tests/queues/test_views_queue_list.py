"""The queue view: a team's tasks with filters, sorting and pages kept in the URL."""

import datetime as dt

import pytest

from apps.core import clock
from apps.core.models import Profile
from apps.queues.models import Task
from tests.factories import AccountFactory, QueueFactory, TaskFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


NOW = dt.datetime(2026, 11, 18, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def team(csm):
    """Carla and Chris work Onboarding; Renewals belongs to another team."""
    chris = UserFactory(username="chris", first_name="Chris", last_name="Okafor", role="CSM")
    Profile.objects.create(user=csm, timezone="Europe/Berlin")
    onboarding = QueueFactory(name="Onboarding", members=[csm, chris])
    renewals = QueueFactory(name="Renewals", members=[UserFactory(username="rene", role="CSM")])
    return onboarding, renewals, chris


def task(queue, title, *, hours=24, **kwargs):
    return TaskFactory(queue=queue, title=title, due_at=NOW + dt.timedelta(hours=hours), **kwargs)


def get(client, user, **params):
    client.force_login(user)
    with clock.frozen(NOW):
        return client.get("/tasks/", params)


def titles(response):
    assert response.status_code == 200
    return [row.task.title for row in response.context["rows"]]


def test_lists_open_tasks_of_the_users_queues_only(client, csm, team):
    onboarding, renewals, chris = team
    task(onboarding, "Kickoff Acme", assignee=chris)
    task(onboarding, "Kickoff Globex")
    task(onboarding, "Done already", status=Task.Status.DONE)
    task(renewals, "Renewal call Initech")

    response = get(client, csm)

    assert sorted(titles(response)) == ["Kickoff Acme", "Kickoff Globex"]
    html = response.content.decode()
    assert "Chris Okafor" in html and "Unassigned" in html


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"assignee": "me"}, ["Mine, urgent"]),
        ({"assignee": "none"}, ["Nobody's, overdue", "Nobody's, next week"]),
        ({"priority": "1"}, ["Mine, urgent"]),
        ({"kind": "onboarding_kickoff"}, ["Nobody's, next week"]),
        ({"due": "overdue"}, ["Nobody's, overdue"]),
        ({"due": "today"}, ["Mine, urgent"]),
        ({"search": "urgent"}, ["Mine, urgent"]),
        ({"status": "done"}, ["Finished"]),
        ({"status": "all", "assignee": "me"}, ["Mine, urgent", "Finished"]),
    ],
)
def test_filters(client, csm, team, params, expected):
    onboarding, _, _ = team
    task(onboarding, "Mine, urgent", assignee=csm, priority=Task.Priority.P1, hours=3)
    task(onboarding, "Nobody's, overdue", hours=-30)
    task(onboarding, "Nobody's, next week", hours=24 * 7, kind="onboarding_kickoff")
    task(onboarding, "Finished", assignee=csm, status=Task.Status.DONE, hours=-48)

    assert titles(get(client, csm, **params)) == expected


def test_filter_by_queue_and_account(client, admin_user, team):
    onboarding, renewals, _ = team
    acme = AccountFactory(name="Acme")
    task(onboarding, "Acme kickoff", account=acme)
    task(renewals, "Acme renewal", account=acme)
    task(renewals, "Other renewal", account=AccountFactory(name="Globex"))

    assert titles(get(client, admin_user, queue="renewals")) == ["Acme renewal", "Other renewal"]
    assert titles(get(client, admin_user, account=str(acme.pk))) == ["Acme kickoff", "Acme renewal"]
    assert titles(get(client, admin_user, queue="renewals", account=str(acme.pk))) == [
        "Acme renewal"
    ]


def test_snoozed_tasks_are_hidden_unless_asked_for(client, csm, team):
    onboarding, _, _ = team
    task(onboarding, "Awake")
    task(onboarding, "Asleep", snoozed_until=NOW + dt.timedelta(days=2))

    assert titles(get(client, csm)) == ["Awake"]
    assert titles(get(client, csm, snoozed="only")) == ["Asleep"]
    assert sorted(titles(get(client, csm, snoozed="include"))) == ["Asleep", "Awake"]


def test_sorting(client, csm, team):
    onboarding, _, _ = team
    task(
        onboarding,
        "Low, soon",
        priority=Task.Priority.P4,
        hours=1,
        account=AccountFactory(name="B"),
    )
    task(
        onboarding,
        "Urgent, late",
        priority=Task.Priority.P1,
        hours=50,
        account=AccountFactory(name="C"),
    )
    task(onboarding, "Normal, middle", hours=10, account=AccountFactory(name="A"))

    assert titles(get(client, csm)) == ["Urgent, late", "Normal, middle", "Low, soon"]
    assert titles(get(client, csm, sort="due")) == ["Low, soon", "Normal, middle", "Urgent, late"]
    assert titles(get(client, csm, sort="-due")) == ["Urgent, late", "Normal, middle", "Low, soon"]
    assert titles(get(client, csm, sort="account")) == [
        "Normal, middle",
        "Low, soon",
        "Urgent, late",
    ]


def test_pages_keep_the_filters_in_their_links(client, csm, team):
    onboarding, _, _ = team
    for n in range(12):
        task(onboarding, f"Task {n:02}", hours=n, priority=Task.Priority.P2)

    response = get(client, csm, priority="2", sort="due", per_page="10", page="2")

    assert titles(response) == ["Task 10", "Task 11"]
    html = response.content.decode()
    assert 'href="?priority=2&amp;sort=due&amp;per_page=10&amp;page=1"' in html
    assert "12 tasks, showing 11–12" in html
    # The filter form shows what is applied, so the URL is the whole state.
    assert response.context["filter_form"]["priority"].value() == "2"


def test_a_bad_value_in_the_url_is_ignored_not_an_error(client, csm, team):
    onboarding, _, _ = team
    task(onboarding, "Still listed")

    response = get(client, csm, priority="urgent", sort="sideways", per_page="7", page="99")

    assert titles(response) == ["Still listed"]


def test_empty_states_say_why(client, csm, team):
    response = get(client, csm)
    assert "No open tasks in your queues" in response.content.decode()

    response = get(client, csm, priority="1")
    html = response.content.decode()
    assert "No tasks match these filters" in html and "clear the filters" in html


def test_filter_fields_have_labels(client, csm, team):
    html = get(client, csm).content.decode()

    for field in ("queue", "assignee", "priority", "kind", "due", "account", "status", "search"):
        assert f'<label for="id_{field}">' in html, field


def test_someone_without_a_role_gets_403(client, outsider):
    client.force_login(outsider)

    assert client.get("/tasks/").status_code == 403


def test_query_count_does_not_grow_with_the_page_size(
    client, csm, team, django_assert_max_num_queries
):
    onboarding, _, chris = team

    def add(n):
        for i in range(n):
            task(
                onboarding,
                f"Task {n}-{i}",
                hours=i - 3,
                assignee=(csm, chris, None)[i % 3],
                account=AccountFactory(),
                sla_due_at=NOW + dt.timedelta(hours=i),
            )

    add(3)
    client.force_login(csm)
    with clock.frozen(NOW):
        client.get("/tasks/")
        with django_assert_max_num_queries(25) as small:
            client.get("/tasks/", {"per_page": 100, "status": "all", "sort": "account"})
    add(40)
    with clock.frozen(NOW), django_assert_max_num_queries(len(small.captured_queries)):
        response = client.get("/tasks/", {"per_page": 100, "status": "all", "sort": "account"})
    assert len(response.context["rows"]) == 43
