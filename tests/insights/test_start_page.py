"""Where "/" leads: the first start page (in order) whose permission the person has, else
everyone's default. CS managers land on the team dashboard; CSMs and reps on My work."""

import pytest
from django.urls import reverse

from apps.core import pages
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("role", "lands_on"),
    [
        ("CS Manager", "insights:team"),
        ("Admin", "insights:team"),
        ("CSM", "queues:my_work"),
        ("Sales Rep", "queues:my_work"),
        ("Sales Manager", "queues:my_work"),
    ],
)
def test_each_role_lands_on_its_start_page(client, role, lands_on):
    client.force_login(UserFactory(username="someone", role=role))
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"] == reverse(lands_on)


def test_the_first_matching_start_page_in_order_wins(monkeypatch):
    monkeypatch.setattr(pages, "_start_pages", {})
    pages.register_start_page("queues:my_work", order=1000)
    pages.register_start_page("insights:deals", permission="insights.view_insights", order=20)
    pages.register_start_page("insights:team", permission="insights.view_team_dashboard", order=10)
    manager = UserFactory(username="mona", role="CS Manager")
    sales_manager = UserFactory(username="sam", role="Sales Manager")
    csm = UserFactory(username="carla", role="CSM")
    assert pages.start_page(manager) == "insights:team"
    assert pages.start_page(sales_manager) == "insights:deals"
    assert pages.start_page(csm) == "queues:my_work"


def test_without_a_default_someone_with_no_match_is_a_configuration_error(monkeypatch):
    from django.core.exceptions import ImproperlyConfigured

    monkeypatch.setattr(pages, "_start_pages", {})
    pages.register_start_page("insights:team", permission="insights.view_team_dashboard")
    with pytest.raises(ImproperlyConfigured):
        pages.start_page(UserFactory(username="carla", role="CSM"))
