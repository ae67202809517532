"""Afterwin has an icon: pages link an SVG, and /favicon.ico leads to it, not to a 404."""

from pathlib import Path

import pytest
from django.contrib.staticfiles import finders

pytestmark = pytest.mark.django_db

LINK = '<link rel="icon" href="/static/core/favicon.svg" type="image/svg+xml">'


def test_favicon_ico_leads_to_the_svg_icon(client):
    response = client.get("/favicon.ico")

    assert response.status_code == 302
    assert response["Location"] == "/static/core/favicon.svg"
    icon = finders.find("core/favicon.svg")
    assert icon and Path(icon).read_text().startswith("<svg")


def test_staff_and_public_pages_link_the_icon(client):
    assert LINK in client.get("/login/").content.decode()
    assert LINK in client.get("/u/not-a-token/").content.decode()
