"""Production refuses a secret key anyone could know, naming DJANGO_SECRET_KEY."""

import secrets

import pytest
from django.conf import settings

from tests.core.test_settings import PRODUCTION_ENV, manage

RANDOM_TAIL = secrets.token_urlsafe(48)


@pytest.mark.parametrize(
    ("key", "reason"),
    [
        (settings.DEVELOPMENT_SECRET_KEY, "development key published in config/settings.py"),
        (f"insecure-{RANDOM_TAIL}", "starts with 'insecure-'"),
        (f"django-insecure-{RANDOM_TAIL}", "starts with 'insecure-'"),
        ("9f8e7d6c5b4a39281706", "is 20 characters long; it needs at least 50"),
        ("ab" * 30, "repeats too few characters"),
        ("", "is not set"),
    ],
    ids=["development-key", "insecure-", "django-insecure-", "short", "low-variety", "unset"],
)
def test_production_start_up_refuses_a_guessable_secret_key(key, reason):
    result = manage("check", env={**PRODUCTION_ENV, "DJANGO_SECRET_KEY": key})
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY" in result.stderr
    assert reason in result.stderr
    assert key == "" or key not in result.stderr  # the refused key itself is never printed


def test_development_uses_the_published_key_when_none_is_set():
    result = manage("check", env={"AFTERWIN_PRODUCTION": "0", "DJANGO_SECRET_KEY": ""})
    assert result.returncode == 0, result.stderr
