"""In-app notifications: the list with unread and read, mark one or all read."""

import datetime as dt

import pytest

from apps.core import clock
from apps.notifications.models import Notification
from tests.factories import DealFactory, UserFactory

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 11, 18, 9, 0, tzinfo=dt.UTC)
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def notify(user, title, *, read=False, minutes_ago=0, **kwargs):
    return Notification.objects.create(
        recipient=user,
        reason=kwargs.pop("reason", Notification.Reason.HANDOFF_REMINDER),
        title=title,
        read_at=NOW if read else None,
        created_at=NOW - dt.timedelta(minutes=minutes_ago),
        **kwargs,
    )


def titles(response):
    assert response.status_code == 200
    return [n.title for n in response.context["page"].object_list]


def test_list_newest_first_with_unread_and_read_tabs(client, rep):
    notify(rep, "Old and read", read=True, minutes_ago=60)
    notify(rep, "Introduce Carla to Dana", minutes_ago=5, body="Northwind is onboarding.")
    notify(UserFactory(username="raj"), "Someone else's")
    client.force_login(rep)

    everything = client.get("/notifications/")
    assert titles(everything) == ["Introduce Carla to Dana", "Old and read"]
    html = everything.content.decode()
    assert "Northwind is onboarding." in html
    assert ">Unread</span>" in html and ">Read</span>" in html
    assert titles(client.get("/notifications/", {"show": "unread"})) == ["Introduce Carla to Dana"]
    assert titles(client.get("/notifications/", {"show": "read"})) == ["Old and read"]


def test_mark_one_read_as_htmx_partial_updates_the_badge(client, rep):
    first = notify(rep, "First")
    notify(rep, "Second")
    client.force_login(rep)

    with clock.frozen(NOW):
        response = client.post(f"/notifications/{first.pk}/read/", **HTMX)

    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith(f'<li id="notification-{first.pk}"')
    assert ">Read</span>" in html and "Mark read" not in html
    assert '<span aria-hidden="true">1</span>' in html  # the unread badge, out of band
    first.refresh_from_db()
    assert first.read_at == NOW


def test_mark_one_read_as_plain_post_redirects_back(client, rep):
    first = notify(rep, "First")
    client.force_login(rep)

    response = client.post(
        f"/notifications/{first.pk}/read/", {"next": "/notifications/?show=unread"}
    )

    assert response["Location"] == "/notifications/?show=unread"
    first.refresh_from_db()
    assert first.is_read


def test_mark_all_read(client, rep):
    for n in range(3):
        notify(rep, f"N{n}")
    other = notify(UserFactory(username="raj"), "Raj's")
    client.force_login(rep)

    response = client.post("/notifications/read-all/?show=unread", **HTMX)

    assert response.status_code == 200
    html = response.content.decode()
    assert "Marked 3 notifications read." in html
    assert "You have read everything." in html
    assert not Notification.objects.filter(recipient=rep, read_at__isnull=True).exists()
    other.refresh_from_db()
    assert not other.is_read


def test_open_marks_read_and_follows_the_link(client, rep):
    local = notify(rep, "Task", url="/tasks/7/")
    foreign = notify(rep, "Phish", url="https://evil.example/")
    client.force_login(rep)

    assert client.post(f"/notifications/{local.pk}/open/")["Location"] == "/tasks/7/"
    assert client.post(f"/notifications/{foreign.pk}/open/")["Location"] == "/notifications/"
    local.refresh_from_db()
    assert local.is_read


def test_someone_elses_notification_is_404(client, rep):
    theirs = notify(UserFactory(username="raj"), "Raj's")
    client.force_login(rep)

    for action in ("read", "open"):
        assert client.post(f"/notifications/{theirs.pk}/{action}/").status_code == 404
    theirs.refresh_from_db()
    assert not theirs.is_read


def test_empty_state(client, rep):
    client.force_login(rep)

    html = client.get("/notifications/").content.decode()

    assert "No notifications yet." in html
    assert "disabled>Mark all read" in html


def test_everyone_logged_in_has_notifications_but_not_anonymous(client, outsider):
    assert client.get("/notifications/")["Location"] == "/login/?next=/notifications/"
    client.force_login(outsider)
    assert client.get("/notifications/").status_code == 200


def test_paginated_with_a_fixed_number_of_queries(client, rep, django_assert_max_num_queries):
    # Each notification links its own account and deal, which the list shows.
    for n in range(30):
        deal = DealFactory()
        notify(rep, f"N{n}", minutes_ago=n, account=deal.account, deal=deal)
    client.force_login(rep)
    client.get("/notifications/")

    with django_assert_max_num_queries(12):
        response = client.get("/notifications/", {"page": 1})
    assert len(titles(response)) == 25

    with django_assert_max_num_queries(12):
        response = client.get("/notifications/", {"page": 2})
    assert titles(response) == [f"N{n}" for n in range(25, 30)]
