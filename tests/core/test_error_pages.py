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


@pytest.mark.django_db
def test_an_unknown_api_address_answers_json_like_the_rest_of_the_api(client, settings):
    settings.DEBUG = False

    response = client.get("/api/accounts/1.5e-10/")

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "No such API endpoint."}


def test_a_server_error_shows_a_page_that_needs_no_context():
    # Django renders 500.html without the request or context processors.
    response = server_error(RequestFactory().get("/"))

    assert response.status_code == 500
    page = response.content.decode()
    assert "Something went wrong" in page
    assert 'href="/"' in page
