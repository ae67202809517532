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


def test_every_login_row_lines_up_with_the_header(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    out = StringIO()

    call_command("seed_demo", stdout=out)

    lines = out.getvalue().splitlines()
    header = next(line for line in lines if line.startswith("username"))
    rows = lines[lines.index(header) + 2 :][:7]
    role_at, password_at = header.index("role"), header.index("password")
    assert any(row.startswith("sam.salesmanager ") for row in rows)
    for row in rows:
        assert row[role_at - 1] == " " and row[role_at] != " ", row
        assert row[password_at - 1] == " " and row[password_at] != " ", row
