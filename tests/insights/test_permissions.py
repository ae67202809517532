"""Who reads what: the team dashboard is for CS managers (and admins), the insights for
sales and CS leaders; everyone else gets a 403, and nobody logged out gets anything."""

import pytest
from django.urls import reverse

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PAGES = {
    "team": reverse("insights:team"),
    "insights": reverse("insights:deals"),
    "onboarding": reverse("insights:onboarding"),
    "growth": reverse("insights:growth"),
    "export": reverse("insights:export", args=["win-reasons"]),
}
INSIGHTS = ("insights", "onboarding", "growth", "export")

# role -> the pages it may open
ALLOWED = {
    "Admin": set(PAGES),
    "CS Manager": set(PAGES),
    "Sales Manager": set(INSIGHTS),
    "CSM": set(),
    "Sales Rep": set(),
    None: set(),
}


@pytest.mark.parametrize("role", list(ALLOWED))
def test_each_role_opens_only_its_pages(client, role):
    client.force_login(UserFactory(username="someone", role=role))
    for name, url in PAGES.items():
        expected = 200 if name in ALLOWED[role] else 403
        assert client.get(url).status_code == expected, (role, name)


def test_nobody_logged_out_reads_a_figure(client):
    for url in PAGES.values():
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))


def test_the_top_bar_links_to_insights_for_leaders_only(client):
    client.force_login(UserFactory(username="sam", role="Sales Manager"))
    page = client.get(reverse("insights:deals")).content.decode()
    assert f'href="{reverse("insights:deals")}"' in page
    assert f'href="{reverse("insights:team")}"' not in page
    client.force_login(UserFactory(username="carla", role="CSM"))
    page = client.get(reverse("queues:my_work")).content.decode()
    assert "Insights" not in page
