"""When a process of ``make run`` stops by itself, one line says which and why."""

import os
import signal
import subprocess
import sys
import textwrap

from django.conf import settings

from config.explain_exit import other_processes, reason, summary

CELERY_CRASH = textwrap.dedent(
    """\
    [2026-01-05 10:00:00,001: INFO/MainProcess] Connected to filesystem://localhost//
    [2026-01-05 10:00:01,123: CRITICAL/MainProcess] Unrecoverable error: JSONDecodeError('Expecting value: line 1 column 1 (char 0)')
    Traceback (most recent call last):
      File "kombu/transport/filesystem.py", line 316, in _get
        return loads(bytes_to_str(payload))
    json.decoder.JSONDecodeError: Expecting value: line 1 column 1 (char 0)
    """  # noqa: E501
)


def explain_exit(name: str, script: str, **kwargs) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "config.explain_exit", name, "--", sys.executable, "-c", script],
        cwd=settings.BASE_DIR,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kwargs,
    )


def test_a_crashed_worker_is_named_with_its_error_before_the_others_stop():
    script = f"import sys; print('ready'); sys.stderr.write({CELERY_CRASH!r}); sys.exit(1)"

    process = explain_exit("worker", script)
    stdout, stderr = process.communicate(timeout=30)

    assert process.returncode == 1
    assert stdout == "ready\n"  # output passes through
    assert stderr.startswith(CELERY_CRASH)
    assert stderr.splitlines()[-1] == (
        "afterwin: the worker stopped (exit code 1): Unrecoverable error: "
        "JSONDecodeError('Expecting value: line 1 column 1 (char 0)') — stopping web and beat"
    )


def test_a_process_that_ends_well_adds_nothing():
    process = explain_exit("beat", "import sys; sys.stderr.write('bye\\n')")
    _, stderr = process.communicate(timeout=30)

    assert process.returncode == 0
    assert stderr == "bye\n"


def test_a_stop_asked_of_the_group_is_not_reported_as_a_failure():
    # honcho and a terminal signal the whole process group, as here.
    process = explain_exit(
        "web", "import time; print('up', flush=True); time.sleep(30)", start_new_session=True
    )
    assert process.stdout.readline() == "up\n"
    os.killpg(process.pid, signal.SIGTERM)
    _, stderr = process.communicate(timeout=30)

    assert process.returncode == 128 + signal.SIGTERM
    assert "afterwin:" not in stderr


def test_a_process_killed_from_outside_is_named_with_the_signal():
    script = "import os, signal, sys; sys.stderr.write('working\\n'); os.kill(os.getpid(), 9)"

    process = explain_exit("worker", script)
    _, stderr = process.communicate(timeout=30)

    assert process.returncode == 128 + signal.SIGKILL
    assert stderr.splitlines()[-1] == (
        "afterwin: the worker was killed by SIGKILL — stopping web and beat"
    )


def test_the_reason_is_the_last_critical_then_error_record_then_the_last_line():
    gunicorn = [
        "[2026-01-05 10:00:00 +0000] [42] [INFO] Starting gunicorn 23.0.0",
        "[2026-01-05 10:00:00 +0000] [42] [ERROR] Connection in use: ('127.0.0.1', 8000)",
        "[2026-01-05 10:00:05 +0000] [42] [ERROR] Can't connect to ('127.0.0.1', 8000)",
    ]
    django = [
        "2026-01-05 10:00:00,123 ERROR apps.core.views healthz: broker check failed",
        "Traceback (most recent call last):",
        '  File "config/settings.py", line 30, in _env_bool',
        "django.core.exceptions.ImproperlyConfigured: DJANGO_DEBUG='maybe' is not a boolean",
        "",
    ]

    assert reason(CELERY_CRASH.splitlines()) == (
        "Unrecoverable error: JSONDecodeError('Expecting value: line 1 column 1 (char 0)')"
    )
    assert reason(gunicorn) == "Can't connect to ('127.0.0.1', 8000)"
    assert reason(django) == (
        "django.core.exceptions.ImproperlyConfigured: DJANGO_DEBUG='maybe' is not a boolean"
    )
    assert reason(["starting", "Killed", ""]) == "Killed"
    assert reason([]) == ""


def test_an_error_the_process_carried_on_after_is_not_the_reason():
    lines = [
        "[2026-01-05 10:00:00,001: ERROR/MainProcess] Broker: message x.msg cannot be decoded",
        "[2026-01-05 10:00:05,001: INFO/MainProcess] Task engine.dispatch_due[1] received",
    ]

    assert reason(lines) == ""
    assert reason([*lines, "Segmentation fault"]) == "Segmentation fault"


def test_the_line_names_the_other_processes_of_the_procfile(tmp_path):
    procfile = tmp_path / "Procfile"
    procfile.write_text("# comment\nweb: gunicorn\nworker: celery worker\nbeat: celery beat\n")

    assert other_processes("web", procfile) == ["worker", "beat"]
    assert other_processes("web", tmp_path / "missing") == []
    assert summary("web", 3, "", ["worker", "beat"]) == (
        "afterwin: the web stopped (exit code 3) with no error output — stopping worker and beat"
    )
    assert summary("web", 1, "boom", []) == "afterwin: the web stopped (exit code 1): boom"


def test_the_procfile_runs_every_process_through_the_explanation():
    lines = (settings.BASE_DIR / "Procfile").read_text().splitlines()
    for line in filter(None, lines):
        name, command = line.split(":", 1)
        assert command.strip().startswith(f"python -m config.explain_exit {name} -- "), line
