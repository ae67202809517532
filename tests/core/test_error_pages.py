"""With DEBUG off (as under ``make run``) errors show Afterwin's pages, not Django's."""

import pytest
from django.test import RequestFactory
from django.views.defaults import server_error


@pytest.mark.django_db
def test_an_unknown_address_shows_the_friendly_not_found_page(client, csm, settings):
    settings.DEBUG = False
    client.force_login(csm)

    response = client.get("/no-such-page/")

    assert response.status_code == 404
    page = response.content.decode()
    assert "There is nothing here" in page
    assert "queues/afterwin.css" in page
    assert "Page not found at" not in page  # Django's debug page


def test_a_server_error_shows_a_page_that_needs_no_context():
    # Django renders 500.html without the request or context processors.
    response = server_error(RequestFactory().get("/"))

    assert response.status_code == 500
    page = response.content.decode()
    assert "Something went wrong" in page
    assert 'href="/"' in page
