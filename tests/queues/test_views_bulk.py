"""Bulk actions on a selection of tasks from My work or the queue view."""

import datetime as dt

import pytest

from apps.core import clock
from apps.core.models import Profile
from apps.queues.models import Task
from tests.factories import QueueFactory, TaskFactory, UserFactory

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 11, 18, 9, 0, tzinfo=dt.UTC)
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def team(csm, cs_manager):
    chris = UserFactory(username="chris", first_name="Chris", last_name="Okafor", role="CSM")
    Profile.objects.create(user=csm, timezone="Europe/Berlin")
    onboarding = QueueFactory(name="Onboarding", members=[csm, chris], manager=cs_manager)
    return onboarding, chris


def task(queue, title, **kwargs):
    return TaskFactory(queue=queue, title=title, due_at=NOW + dt.timedelta(days=1), **kwargs)


def bulk(client, user, tasks, *, next_url="/tasks/?priority=3", headers=None, **data):
    client.force_login(user)
    payload = {"task": [t.pk for t in tasks], "next": next_url, "list": "task_list", **data}
    with clock.frozen(NOW):
        return client.post("/tasks/bulk/", payload, **(headers or {}))


def refreshed(*tasks):
    return [Task.objects.get(pk=t.pk) for t in tasks]


def test_claim_takes_the_unassigned_tasks_and_redirects_back(client, csm, team):
    onboarding, _ = team
    first, second = task(onboarding, "One"), task(onboarding, "Two")

    response = bulk(client, csm, [first, second], action="claim")

    assert response.status_code == 302
    assert response["Location"] == "/tasks/?priority=3"
    assert [t.assignee for t in refreshed(first, second)] == [csm, csm]
    follow = client.get(response["Location"])
    assert "Claimed 2 tasks." in follow.content.decode()


def test_refused_tasks_say_why_and_the_others_go_on(client, csm, team):
    onboarding, chris = team
    free = task(onboarding, "Free one")
    taken = task(onboarding, "Chris's one", assignee=chris)

    response = bulk(client, csm, [free, taken], action="claim", headers=HTMX)

    assert response.status_code == 200
    html = response.content.decode()
    assert "Claimed 1 of 2 tasks; 1 refused." in html
    assert "“Chris&#x27;s one”: This task is already claimed by Chris Okafor." in html
    assert [t.assignee for t in refreshed(free, taken)] == [csm, chris]
    # htmx gets the list region back (with the top bar counts out of band), not a page.
    assert html.lstrip().startswith('<form id="work-region"')
    assert 'id="topbar-open-tasks" class="count" hx-swap-oob="true"' in html


def test_assign_to_someone(client, cs_manager, team):
    onboarding, chris = team
    one, two = task(onboarding, "One"), task(onboarding, "Two")

    response = bulk(client, cs_manager, [one, two], action="assign", assignee=chris.pk)

    assert response.status_code == 302
    assert [t.assignee for t in refreshed(one, two)] == [chris, chris]


def test_snooze_until_a_time_in_the_viewers_zone(client, csm, team):
    onboarding, _ = team
    one = task(onboarding, "One", assignee=csm)

    bulk(client, csm, [one], action="snooze", until="2026-11-20T09:30")

    (one,) = refreshed(one)
    assert one.snoozed_until == dt.datetime(2026, 11, 20, 8, 30, tzinfo=dt.UTC)  # CET


def test_complete_with_an_outcome(client, csm, team):
    onboarding, _ = team
    call = task(onboarding, "Kickoff", assignee=csm, kind="onboarding_kickoff")
    chore = task(onboarding, "Send the deck", assignee=csm)

    bulk(client, csm, [call, chore], action="complete", outcome="reached")

    call, chore = refreshed(call, chore)
    assert (call.status, call.outcome) == ("done", "reached")
    assert chore.status == "done"


def test_complete_without_a_required_outcome_is_refused_for_that_task(client, csm, team):
    onboarding, _ = team
    call = task(onboarding, "Kickoff", assignee=csm, kind="onboarding_kickoff")
    chore = task(onboarding, "Send the deck", assignee=csm)

    response = bulk(client, csm, [call, chore], action="complete", headers=HTMX)

    call, chore = refreshed(call, chore)
    assert (call.status, chore.status) == ("open", "done")
    assert "“Kickoff”: Say how it went" in response.content.decode()


def test_cancel_needs_a_reason_shown_next_to_the_field(client, csm, team):
    onboarding, _ = team
    one = task(onboarding, "One", assignee=csm)

    response = bulk(client, csm, [one], action="cancel", reason="  ", headers=HTMX)

    assert response.status_code == 400
    html = response.content.decode()
    assert 'id="bulk_reason_error"' in html
    assert "Say why the tasks are cancelled." in html
    assert 'aria-invalid="true"' in html
    assert refreshed(one)[0].status == "open"

    bulk(client, csm, [one], action="cancel", reason="Customer churned")
    (one,) = refreshed(one)
    assert (one.status, one.cancelled_reason) == ("cancelled", "Customer churned")


def test_missing_parameters_are_errors_next_to_their_fields(client, csm, team):
    onboarding, _ = team
    one = task(onboarding, "One", assignee=csm)

    snooze = bulk(client, csm, [one], action="snooze", until="")
    assign = bulk(client, csm, [one], action="assign")
    nothing = bulk(client, csm, [], action="claim")
    no_action = bulk(client, csm, [one])

    assert snooze.status_code == assign.status_code == nothing.status_code == 400
    assert "Choose when the tasks come back." in snooze.content.decode()
    assert "Choose who gets the selected tasks." in assign.content.decode()
    assert "Select at least one task first." in nothing.content.decode()
    assert "Choose what to do with the selection." in no_action.content.decode()
    # A plain post gets the whole page back, filters and all.
    assert "<h1>Queues</h1>" in snooze.content.decode()


def test_tasks_the_user_cannot_see_are_left_alone(client, csm, team):
    elsewhere = QueueFactory(name="Renewals")
    hidden = task(elsewhere, "Someone else's")

    response = bulk(client, csm, [hidden], action="cancel", reason="Nope")

    assert response.status_code == 400
    assert refreshed(hidden)[0].status == "open"


def test_the_next_url_must_stay_on_this_site(client, csm, team):
    onboarding, _ = team
    one = task(onboarding, "One")

    response = bulk(client, csm, [one], action="claim", next_url="https://evil.example/")

    assert response["Location"] == "/tasks/"


def test_from_my_work_the_region_of_my_work_comes_back(client, csm, team):
    onboarding, _ = team
    one = task(onboarding, "One", assignee=csm)

    response = bulk(
        client,
        csm,
        [one],
        action="snooze",
        until="2026-11-19T09:00",
        next_url="/work/",
        list="my_work",
        headers=HTMX,
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert '<input type="hidden" name="list" value="my_work">' in html
    assert [r.task.title for r in response.context["sections"][3]["rows"]] == ["One"]


def test_a_rep_without_change_permission_gets_403(client, team):
    onboarding, _ = team
    viewer = UserFactory(username="vic")
    one = task(onboarding, "One")

    assert bulk(client, viewer, [one], action="claim").status_code == 403


def test_csrf_is_required(csm, team):
    from django.test import Client

    onboarding, _ = team
    one = task(onboarding, "One")
    client = Client(enforce_csrf_checks=True)
    client.force_login(csm)

    response = client.post("/tasks/bulk/", {"task": [one.pk], "action": "claim"})

    assert response.status_code == 403
    assert refreshed(one)[0].assignee is None
