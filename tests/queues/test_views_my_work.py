"""My work: a person's open tasks in four buckets, in their own time zone."""

import datetime as dt

import pytest

from apps.core import clock
from apps.core.models import Profile
from apps.queues.models import Task
from tests.factories import AccountFactory, QueueFactory, TaskFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


# A Wednesday, 10:00 in Berlin.
NOW = dt.datetime(2026, 11, 18, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def carla(csm):
    Profile.objects.create(user=csm, timezone="Europe/Berlin")
    return csm


@pytest.fixture
def onboarding(carla):
    return QueueFactory(name="Onboarding", members=[carla])


def task(queue, assignee, title, *, hours, priority=Task.Priority.P3, **kwargs):
    return TaskFactory(
        queue=queue,
        assignee=assignee,
        title=title,
        priority=priority,
        due_at=NOW + dt.timedelta(hours=hours),
        **kwargs,
    )


def page(client, user, url="/work/", **params):
    client.force_login(user)
    with clock.frozen(NOW):
        return client.get(url, params)


def section(response, key):
    return next(s for s in response.context["sections"] if s["key"] == key)


def titles(response, key):
    return [row.task.title for row in section(response, key)["rows"]]


def test_tasks_are_bucketed_and_sorted_by_priority_then_due_time(client, carla, onboarding):
    task(onboarding, carla, "Late low", hours=-30, priority=Task.Priority.P4)
    task(onboarding, carla, "Late urgent", hours=-1, priority=Task.Priority.P1)
    task(onboarding, carla, "Today later", hours=8)
    task(onboarding, carla, "Today sooner", hours=2)
    task(onboarding, carla, "Today urgent", hours=9, priority=Task.Priority.P1)
    task(onboarding, carla, "Tomorrow", hours=20)  # 06:00 tomorrow in Berlin
    task(onboarding, carla, "Snoozed", hours=-2, snoozed_until=NOW + dt.timedelta(days=1))
    task(onboarding, None, "Nobody's", hours=1)
    task(onboarding, carla, "Finished", hours=1, status=Task.Status.DONE)

    response = page(client, carla)

    assert response.status_code == 200
    assert titles(response, "overdue") == ["Late urgent", "Late low"]
    assert titles(response, "today") == ["Today urgent", "Today sooner", "Today later"]
    assert titles(response, "upcoming") == ["Tomorrow"]
    assert titles(response, "snoozed") == ["Snoozed"]
    html = response.content.decode()
    assert "Nobody&#x27;s" not in html and "Finished" not in html


def test_due_times_are_shown_in_the_viewers_time_zone(client, carla, onboarding):
    task(onboarding, carla, "Call", hours=3)  # 12:00 UTC is 13:00 in Berlin

    html = page(client, carla).content.decode()

    assert "Wed 18 Nov 2026, 13:00" in html
    assert "times in Europe/Berlin" in html


def test_midnight_in_the_viewers_zone_splits_today_from_upcoming(client, carla, onboarding):
    Profile.objects.filter(user=carla).update(timezone="America/New_York")  # 04:00 there
    task(onboarding, carla, "Before NY midnight", hours=18)  # 22:00 in New York
    task(onboarding, carla, "After NY midnight", hours=20)  # 00:00 tomorrow there

    response = page(client, carla)

    assert titles(response, "today") == ["Before NY midnight"]
    assert titles(response, "upcoming") == ["After NY midnight"]


def test_sla_state_is_shown_for_each_task(client, carla, onboarding):
    created = NOW - dt.timedelta(hours=8)
    task(
        onboarding,
        carla,
        "Fine",
        hours=48,
        created_at=created,
        sla_due_at=NOW + dt.timedelta(hours=40),
    )
    task(
        onboarding,
        carla,
        "Tight",
        hours=48,
        created_at=created,
        sla_due_at=NOW + dt.timedelta(minutes=30),
    )
    task(
        onboarding,
        carla,
        "Late",
        hours=48,
        created_at=created,
        sla_due_at=NOW - dt.timedelta(hours=1),
    )

    response = page(client, carla)

    states = {row.task.title: row.sla_label for row in section(response, "upcoming")["rows"]}
    assert states == {"Fine": "On track", "Tight": "Due soon", "Late": "Breached"}
    html = response.content.decode()
    assert 'class="sla sla--breached">Breached<' in html


def test_empty_state_when_nothing_is_assigned(client, carla, onboarding):
    response = page(client, carla)

    assert response.context["all_empty"]
    assert "You’re all caught up" in response.content.decode()


def test_each_bucket_is_paginated_on_its_own(client, carla, onboarding):
    for n in range(12):
        task(onboarding, carla, f"Late {n:02}", hours=-1 - n)
    task(onboarding, carla, "Soon", hours=1)

    response = page(client, carla, per_page=10, overdue_page=2)

    overdue = section(response, "overdue")
    assert (overdue["page"].number, len(overdue["rows"])) == (2, 2)
    assert titles(response, "today") == ["Soon"]
    assert 'href="?per_page=10&amp;overdue_page=1"' in response.content.decode()


def test_top_bar_counts_open_tasks_and_unread_notifications(client, carla, onboarding):
    from apps.notifications.models import Notification

    task(onboarding, carla, "One", hours=1)
    task(onboarding, carla, "Two", hours=50)
    Notification.objects.create(recipient=carla, reason="task_assigned", title="New")
    Notification.objects.create(recipient=carla, reason="task_assigned", title="Old", read_at=NOW)

    response = page(client, carla)

    assert (response.context["topbar_open_tasks"], response.context["topbar_unread"]) == (2, 1)
    assert "(2 open tasks)" in response.content.decode()


def test_query_count_does_not_grow_with_the_page_size(
    client, carla, onboarding, django_assert_max_num_queries
):
    def add(n):
        for i in range(n):
            account = AccountFactory()
            task(onboarding, carla, f"Overdue {n}-{i}", hours=-1 - i, account=account)
            task(onboarding, carla, f"Today {n}-{i}", hours=1 + i % 5, account=account)
            task(onboarding, carla, f"Later {n}-{i}", hours=30 + i, account=account)
            task(
                onboarding,
                carla,
                f"Snoozed {n}-{i}",
                hours=-3,
                snoozed_until=NOW + dt.timedelta(days=1),
                account=account,
            )

    add(2)
    client.force_login(carla)
    with clock.frozen(NOW):
        client.get("/work/")  # the profile is created on the first visit
        with django_assert_max_num_queries(20) as small:
            client.get("/work/", {"per_page": 100})
    add(25)
    with clock.frozen(NOW), django_assert_max_num_queries(len(small.captured_queries)):
        response = client.get("/work/", {"per_page": 100})
    assert len(section(response, "upcoming")["rows"]) == 27


def test_login_is_required(client):
    response = client.get("/work/")

    assert response.status_code == 302
    assert response["Location"] == "/login/?next=/work/"


def test_someone_without_a_role_gets_403(client, outsider):
    client.force_login(outsider)

    response = client.get("/work/")

    assert response.status_code == 403
    assert "You can’t do that" in response.content.decode()


def test_a_sales_rep_sees_their_own_tasks(client, rep):
    account = AccountFactory(name="Globex")
    queue = QueueFactory(name="Sales follow-up")
    task(queue, rep, "Hand-off call with Globex", hours=2, account=account)

    response = page(client, rep)

    assert response.status_code == 200
    assert titles(response, "today") == ["Hand-off call with Globex"]


def test_keyboard_shortcut_help_and_script_are_on_the_page(client, carla, onboarding):
    task(onboarding, carla, "One", hours=1)

    html = page(client, carla).content.decode()

    assert 'id="shortcuts-help"' in html
    assert "/static/queues/afterwin.js" in html
    assert "/static/django_htmx/htmx-2.min.js" in html
    assert "data-task-row" in html and 'name="task"' in html
