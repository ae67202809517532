"""The product's own login and logout, and where "/" leads."""

import pytest

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def test_home_sends_visitors_to_the_login_page(client):
    response = client.get("/")

    assert (response.status_code, response["Location"]) == (302, "/login/")


def test_home_sends_people_who_are_logged_in_to_my_work(client, csm):
    client.force_login(csm)

    response = client.get("/")

    assert (response.status_code, response["Location"]) == (302, "/work/")


def test_login_page_has_labelled_fields(client):
    response = client.get("/login/")

    html = response.content.decode()
    assert response.status_code == 200
    assert '<label for="id_username">' in html and '<label for="id_password">' in html
    assert 'name="csrfmiddlewaretoken"' in html


def test_logging_in_leads_to_my_work_or_the_page_asked_for(client):
    UserFactory(username="cleo", role="CSM", password="orchard-lamp-1")

    response = client.post("/login/", {"username": "cleo", "password": "orchard-lamp-1"})
    assert (response.status_code, response["Location"]) == (302, "/")

    client.logout()
    response = client.post(
        "/login/", {"username": "cleo", "password": "orchard-lamp-1", "next": "/tasks/"}
    )
    assert response["Location"] == "/tasks/"


def test_a_wrong_password_says_so_and_logs_nobody_in(client):
    UserFactory(username="cleo", role="CSM", password="orchard-lamp-1")

    response = client.post("/login/", {"username": "cleo", "password": "nope"})

    assert response.status_code == 200
    assert "do not match" in response.content.decode()
    assert client.get("/work/").status_code == 302


def test_logout_is_a_post_and_ends_the_session(client, csm):
    client.force_login(csm)

    response = client.post("/logout/")

    assert (response.status_code, response["Location"]) == (302, "/login/")
    assert client.get("/work/")["Location"] == "/login/?next=/work/"


def test_the_admin_keeps_its_own_login(client):
    response = client.get("/admin/")

    assert response["Location"].startswith("/admin/login/")
