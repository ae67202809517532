"""The addresses `make run` prints after seeding are the ones the web process serves:
`make run` sets AFTERWIN_SITE_URL from WEB_BIND, and the banner reads it."""

from io import StringIO

import pytest
from django.core.management import call_command

pytestmark = pytest.mark.django_db


def test_the_banner_names_the_configured_address_not_port_8000(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.SITE_URL = "http://127.0.0.1:8715"
    out = StringIO()

    call_command("seed_demo", stdout=out)

    banner = out.getvalue()
    assert "Afterwin: http://127.0.0.1:8715/ " in banner
    assert "Admin:    http://127.0.0.1:8715/admin/" in banner
    assert "API docs: http://127.0.0.1:8715/api/docs/" in banner
    assert ":8000" not in banner
