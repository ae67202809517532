"""/api/notifications/: my notifications only, unread filter, mark read."""

import pytest
from rest_framework.test import APIClient

from apps.notifications.models import Notification
from tests.factories import NotificationFactory

pytestmark = pytest.mark.django_db


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user=user)
    return client


def titles(response) -> list[str]:
    assert response.status_code == 200, response.json()
    return [n["title"] for n in response.json()["results"]]


@pytest.fixture
def carlas(csm, rep):
    older = NotificationFactory(recipient=csm, title="Overdue: Kickoff call")
    newer = NotificationFactory(recipient=csm, title="New task for you: Check-in")
    NotificationFactory(recipient=rep, title="Rick's reminder")
    return older, newer


def test_i_see_only_my_notifications_newest_first(csm, carlas):
    assert titles(client_for(csm).get("/api/notifications/")) == [
        "New task for you: Check-in",
        "Overdue: Kickoff call",
    ]


def test_unread_filter(csm, carlas):
    older, _ = carlas
    client = client_for(csm)
    client.post(f"/api/notifications/{older.pk}/read/")

    assert titles(client.get("/api/notifications/", {"unread": "true"})) == [
        "New task for you: Check-in"
    ]
    assert titles(client.get("/api/notifications/", {"unread": "false"})) == [
        "Overdue: Kickoff call"
    ]


def test_mark_one_read(csm, carlas):
    older, newer = carlas

    response = client_for(csm).post(f"/api/notifications/{older.pk}/read/")

    assert response.status_code == 200
    assert response.json()["is_read"] is True
    older.refresh_from_db()
    newer.refresh_from_db()
    assert older.is_read and not newer.is_read
    # Marking it again is harmless.
    assert client_for(csm).post(f"/api/notifications/{older.pk}/read/").status_code == 200


def test_someone_elses_notification_is_not_found(csm, rep, carlas):
    older, _ = carlas
    client = client_for(rep)

    assert client.post(f"/api/notifications/{older.pk}/read/").status_code == 404
    assert client.get(f"/api/notifications/{older.pk}/").status_code == 404
    older.refresh_from_db()
    assert not older.is_read


def test_mark_all_read_touches_only_mine(csm, rep, carlas):
    response = client_for(csm).post("/api/notifications/read-all/")

    assert response.status_code == 200
    assert response.json() == {"marked_read": 2}
    assert not Notification.objects.filter(recipient=csm, read_at__isnull=True).exists()
    assert Notification.objects.get(recipient=rep).read_at is None


def test_signing_in_is_required(carlas):
    assert APIClient().get("/api/notifications/").status_code == 401


def test_list_runs_a_fixed_number_of_queries(csm, django_assert_max_num_queries):
    NotificationFactory.create_batch(30, recipient=csm)
    client = client_for(csm)

    with django_assert_max_num_queries(3):
        response = client.get("/api/notifications/", {"page_size": 30})

    assert len(response.json()["results"]) == 30
    assert response.json()["count"] == 30
