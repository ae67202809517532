"""The page shell: each app puts its own count in the top bar, and "/" leads to the start
page an app registered, without the apps importing each other."""

import pytest

from apps.core import pages
from apps.notifications.models import Notification
from tests.factories import QueueFactory, TaskFactory

pytestmark = pytest.mark.django_db


def test_every_page_shows_each_apps_top_bar_count(client, csm):
    queue = QueueFactory(name="Onboarding", members=[csm])
    TaskFactory(queue=queue, assignee=csm, title="Kickoff call")
    Notification.objects.create(recipient=csm, reason="task_assigned", title="New work")
    client.force_login(csm)

    for url in ("/work/", "/notifications/"):
        response = client.get(url)

        assert response.status_code == 200
        assert (response.context["topbar_open_tasks"], response.context["topbar_unread"]) == (1, 1)
        html = response.content.decode()
        assert "(1 open task)" in html and "(1 unread)" in html


def test_a_newly_registered_count_reaches_the_pages_of_other_apps(client, csm, monkeypatch):
    monkeypatch.setitem(pages._topbar_counts, "surveys_due", lambda user: 3)
    client.force_login(csm)

    response = client.get("/notifications/")

    assert response.context["topbar_surveys_due"] == 3


def test_a_next_link_to_another_site_falls_back_to_the_page_itself(client, csm):
    notification = Notification.objects.create(recipient=csm, reason="task_assigned", title="X")
    client.force_login(csm)

    response = client.post(
        f"/notifications/{notification.pk}/read/", {"next": "https://elsewhere.example/"}
    )

    assert (response.status_code, response["Location"]) == (302, "/notifications/")
