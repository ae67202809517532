"""The task page: the context to act on a task, and the actions themselves, each as an
htmx partial update and as a plain form post."""

import datetime as dt

import pytest
from django.utils.html import escape

from apps.core import clock
from apps.core.events import event_process
from apps.core.models import DomainEvent, Profile
from apps.engine.execution import step_run_execute
from apps.engine.models import Enrollment
from apps.queues.models import Task, TaskActivity
from tests.deals.test_close_won import close_won
from tests.factories import (
    AccountFactory,
    ContactFactory,
    QueueFactory,
    TaskFactory,
    UserFactory,
    closable_deal,
    onboarding_playbook,
)

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 11, 18, 9, 0, tzinfo=dt.UTC)
HTMX = {"HTTP_HX_REQUEST": "true"}
CHECKIN = {
    "key": "checkin",
    "name": "Day-7 check-in",
    "kind": "task",
    "config": {"queue": "onboarding", "title": "Check in with {{ account.name }}"},
    "start": "after_step",
    "after_step": "kickoff",
    "delay_days": 7,
}
REVIEW = {
    "key": "review",
    "name": "Adoption review",
    "kind": "task",
    "config": {"queue": "onboarding", "title": "Review adoption at {{ account.name }}"},
    "start": "after_step",
    "after_step": "checkin",
    "delay_days": 30,
}


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def kickoff(csm, rep):
    """Carla's kickoff call for Globex, created by the onboarding playbook."""
    Profile.objects.create(user=csm, timezone="Europe/Berlin")
    onboarding_playbook(extra_steps=[CHECKIN, REVIEW])
    account = AccountFactory(name="Globex", csm=csm, owner=rep, timezone="Asia/Tokyo")
    ContactFactory(account=account, name="Hank Scorpio", email="hank@globex.test")
    deal = closable_deal(account=account, owner=rep, name="Globex platform")
    with clock.frozen(NOW):
        close_won(deal, actor=rep)
        event = DomainEvent.objects.get(name="deal.closed_won", aggregate_id=deal.pk)
        event_process(event_id=event.pk)
        run = Enrollment.objects.get(deal=deal).step_runs.get(step_key="kickoff")
        step_run_execute(step_run_id=run.pk)
    task = Task.objects.get(deal=deal)
    task.queue.members.add(csm)
    return task


def get(client, user, task):
    client.force_login(user)
    with clock.frozen(NOW):
        return client.get(f"/tasks/{task.pk}/")


def post(client, user, task, action, data=None, headers=None):
    client.force_login(user)
    with clock.frozen(NOW):
        return client.post(f"/tasks/{task.pk}/{action}/", data or {}, **(headers or {}))


def test_the_page_shows_everything_needed_to_act(client, csm, rep, kickoff):
    TaskFactory(
        queue=kickoff.queue,
        account=kickoff.account,
        title="Earlier intro call",
        status=Task.Status.DONE,
        outcome="reached",
    )

    response = get(client, csm, kickoff)

    assert response.status_code == 200
    html = response.content.decode()
    assert "<h1>Kickoff call with Globex</h1>" in html
    # The account: tier, CSM, owner, time zone and its local time now (18:00 in Tokyo).
    assert "Mid-market" in html and "Asia/Tokyo" in html
    assert "Wed 18 Nov 2026, 18:00" in html
    assert escape(rep.get_full_name()) in html  # the account's owner, a sales rep
    # Contacts with their emails, the deal and its line items.
    assert 'href="mailto:hank@globex.test"' in html
    assert "Globex platform" in html and "Line items" in html and "2,400.00" in html
    # The enrollment timeline: what ran and what is still to come.
    assert "New customer onboarding v1" in html
    assert "(this task)" in html
    assert "Day-7 check-in" in html and "Planned" in html and "Wed 25 Nov 2026, 10:00" in html
    assert "Adoption review" in html and "30 days after “checkin” finishes" in html
    assert "Not scheduled yet." in html
    # Earlier work for the same account.
    assert "Earlier intro call" in html
    # Actions with labelled fields, and the outcome select this kind of task needs.
    assert '<label for="complete_outcome">' in html
    assert '<option value="reached">Reached</option>' in html
    assert '<label for="snooze_until">' in html and '<label for="assign_assignee">' in html


def test_complete_with_outcome_as_htmx_partial(client, csm, kickoff):
    response = post(
        client, csm, kickoff, "complete", {"outcome": "reached", "notes": "Go-live 1 Dec"}, HTMX
    )

    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="task-work"')
    assert "Task completed." in html and "status--done" in html
    assert 'id="complete-form"' not in html  # nothing left to do
    assert 'id="topbar-open-tasks" class="count count--zero" hx-swap-oob="true"' in html
    kickoff.refresh_from_db()
    assert (kickoff.status, kickoff.outcome, kickoff.outcome_notes, kickoff.completed_by) == (
        "done",
        "reached",
        "Go-live 1 Dec",
        csm,
    )


def test_complete_as_plain_post_redirects_to_the_task(client, csm, kickoff):
    response = post(client, csm, kickoff, "complete", {"outcome": "no_answer"})

    assert response.status_code == 302
    assert response["Location"] == f"/tasks/{kickoff.pk}/"
    assert "Task completed." in client.get(response["Location"]).content.decode()


def test_missing_outcome_is_shown_next_to_the_field(client, csm, kickoff):
    plain = post(client, csm, kickoff, "complete", {"notes": "Forgot"})
    partial = post(client, csm, kickoff, "complete", {"notes": "Forgot"}, HTMX)

    for response in (plain, partial):
        assert response.status_code == 400
        html = response.content.decode()
        assert 'id="complete_outcome_error"' in html
        assert "this kind of task needs an outcome" in html
        assert 'aria-describedby="complete_outcome_error"' in html
    assert "<h1>Kickoff call with Globex</h1>" in plain.content.decode()
    kickoff.refresh_from_db()
    assert kickoff.status == "open"


def test_completing_twice_is_a_conflict_with_a_message(client, csm, kickoff):
    post(client, csm, kickoff, "complete", {"outcome": "reached"})

    response = post(client, csm, kickoff, "complete", {"outcome": "reached"}, HTMX)

    # Done tasks have no complete form; the page says so instead of failing.
    assert response.status_code == 409
    assert "This task is already done." in response.content.decode()


def test_snooze_until_a_moment_in_the_viewers_zone(client, csm, kickoff):
    response = post(client, csm, kickoff, "snooze", {"until": "2026-11-19T14:00"}, HTMX)

    assert response.status_code == 200
    assert "Snoozed until Thu 19 Nov 2026, 14:00." in response.content.decode()
    kickoff.refresh_from_db()
    assert kickoff.snoozed_until == dt.datetime(2026, 11, 19, 13, 0, tzinfo=dt.UTC)


def test_snooze_preset_uses_the_start_of_the_viewers_working_day(client, csm, kickoff):
    Profile.objects.filter(user=csm).update(work_start=dt.time(8, 30))

    post(client, csm, kickoff, "snooze", {"preset": "tomorrow"})

    kickoff.refresh_from_db()
    assert kickoff.snoozed_until == dt.datetime(2026, 11, 19, 7, 30, tzinfo=dt.UTC)


def test_snooze_into_the_past_is_refused_next_to_the_field(client, csm, kickoff):
    response = post(client, csm, kickoff, "snooze", {"until": "2026-11-17T09:00"}, HTMX)

    assert response.status_code == 400
    html = response.content.decode()
    assert 'id="snooze_until_error"' in html and "Snooze until a time in the future." in html


def test_reassign_to_a_teammate(client, cs_manager, csm, kickoff):
    chris = UserFactory(username="chris", first_name="Chris", last_name="Okafor", role="CSM")
    kickoff.queue.members.add(chris)
    kickoff.queue.manager = cs_manager
    kickoff.queue.save()

    response = post(
        client, cs_manager, kickoff, "assign", {"assignee": chris.pk, "reason": "Carla is out"}
    )

    assert response.status_code == 302
    kickoff.refresh_from_db()
    assert kickoff.assignee == chris
    assert "Carla is out" in kickoff.assignment_reason


def test_reassign_to_someone_outside_the_queue_is_an_error_next_to_the_field(client, csm, kickoff):
    stranger = UserFactory(username="stan", role="CSM")

    response = post(client, csm, kickoff, "assign", {"assignee": stranger.pk}, HTMX)

    assert response.status_code == 400
    assert 'id="assign_assignee_error"' in response.content.decode()
    kickoff.refresh_from_db()
    assert kickoff.assignee == csm


def test_comment(client, csm, kickoff):
    response = post(client, csm, kickoff, "comment", {"body": "Left a voicemail."}, HTMX)

    assert response.status_code == 200
    assert "Left a voicemail." in response.content.decode()
    assert TaskActivity.objects.filter(task=kickoff, kind="commented", actor=csm).exists()

    empty = post(client, csm, kickoff, "comment", {"body": "   "})
    assert empty.status_code == 400
    assert "Write something before posting." in empty.content.decode()


def test_claim_and_start(client, csm, kickoff):
    Task.objects.filter(pk=kickoff.pk).update(assignee=None)

    post(client, csm, kickoff, "claim")
    kickoff.refresh_from_db()
    assert kickoff.assignee == csm

    post(client, csm, kickoff, "start")
    kickoff.refresh_from_db()
    assert kickoff.status == "in_progress"


def test_a_task_the_user_cannot_see_is_404_for_page_and_actions(client, kickoff):
    other_csm = UserFactory(username="olga", role="CSM")

    assert get(client, other_csm, kickoff).status_code == 404
    for action in ("complete", "snooze", "assign", "claim", "start", "comment"):
        assert post(client, other_csm, kickoff, action).status_code == 404, action
    kickoff.refresh_from_db()
    assert kickoff.status == "open"


def test_seeing_is_not_working_a_teammates_task_is_403(client, csm, kickoff):
    chris = UserFactory(username="chris", role="CSM")
    kickoff.queue.members.add(chris)

    page = get(client, chris, kickoff)
    assert page.status_code == 200
    assert 'id="complete-form"' not in page.content.decode()
    assert "You can see this task but not work on it" in page.content.decode()
    assert post(client, chris, kickoff, "complete", {"outcome": "reached"}).status_code == 403
    assert post(client, chris, kickoff, "snooze", {"preset": "tomorrow"}).status_code == 403
    assert post(client, chris, kickoff, "assign", {"assignee": chris.pk}).status_code == 403
    kickoff.refresh_from_db()
    assert (kickoff.status, kickoff.assignee, kickoff.snoozed_until) == ("open", csm, None)


def test_someone_without_a_role_gets_403(client, outsider, kickoff):
    assert get(client, outsider, kickoff).status_code == 403
    assert post(client, outsider, kickoff, "complete", {"outcome": "reached"}).status_code == 403


def test_actions_need_post(client, csm, kickoff):
    client.force_login(csm)

    assert client.get(f"/tasks/{kickoff.pk}/complete/").status_code == 405


def test_a_task_without_playbook_or_account_still_has_a_page(client, csm):
    queue = QueueFactory(name="Misc", members=[csm])
    task = TaskFactory(queue=queue, title="Tidy the CRM", assignee=csm)

    response = get(client, csm, task)

    assert response.status_code == 200
    html = response.content.decode()
    assert "This task was not created by a playbook" in html
    assert "No other tasks for this account." in html
