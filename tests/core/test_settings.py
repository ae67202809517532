"""Settings come from the environment and fail loudly, naming the variable."""

import os
import secrets
import subprocess
import sys

import pytest
from django.conf import settings

PRODUCTION_ENV = {
    "AFTERWIN_PRODUCTION": "1",
    "DJANGO_SECRET_KEY": secrets.token_urlsafe(64),
    "DJANGO_ALLOWED_HOSTS": "afterwin.example.com",
}


def manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=settings.BASE_DIR,
        # The test process points CELERY_BROKER_URL at its in-memory broker; start clean.
        env={**{k: v for k, v in os.environ.items() if k != "CELERY_BROKER_URL"}, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_production_settings_pass_check_deploy_without_warnings():
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION_ENV)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({**PRODUCTION_ENV, "DJANGO_SECRET_KEY": "short"}, "DJANGO_SECRET_KEY"),
        ({**PRODUCTION_ENV, "DJANGO_ALLOWED_HOSTS": ""}, "DJANGO_ALLOWED_HOSTS"),
        ({"DATABASE_URL": "mysql://root@localhost/afterwin"}, "DATABASE_URL"),
        ({"CELERY_BROKER_URL": "amqp://guest@localhost//"}, "CELERY_BROKER_URL"),
        ({"DJANGO_DEBUG": "maybe"}, "DJANGO_DEBUG"),
        ({"ENGINE_BATCH_SIZE": "soon"}, "ENGINE_BATCH_SIZE"),
        ({"API_TOKEN_TTL_DAYS": "0"}, "API_TOKEN_TTL_DAYS"),
    ],
)
def test_bad_setting_fails_at_start_up_naming_the_variable(env, named):
    result = manage("check", env=env)
    assert result.returncode != 0
    assert named in result.stderr


@pytest.mark.parametrize(
    ("env", "transport"),
    [
        ({}, "config.broker.Transport"),
        ({"CELERY_BROKER_URL": "redis://127.0.0.1:6379/3"}, "kombu.transport.redis.Transport"),
    ],
)
def test_the_broker_url_chooses_the_transport(env, transport):
    # kombu takes an explicit transport over the URL's scheme, so ours is set only for
    # filesystem URLs; the embedded default keeps every folder under var/celery.
    code = (
        "from config.celery import app; c = app.connection_for_write(); "
        "t = type(c.transport); print(f'{t.__module__}.{t.__qualname__}'); "
        "print(sorted(set(str(v) for k, v in c.transport_options.items() if 'folder' in k)))"
    )
    result = manage("shell", "--verbosity", "0", "-c", code, env=env)

    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == transport
    if not env:
        var = settings.BASE_DIR / "var" / "celery"
        assert lines[1] == str(
            sorted(str(var / f) for f in ("control", "incoming", "processing", "queue", "rejected"))
        )
