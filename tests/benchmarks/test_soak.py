"""The soak closes deals through the API and fails loudly when one gets no task.

A short run against ``live_server`` stands in for the 30-minute one against ``make run``;
Celery runs eagerly here, so the engine works in the server thread as soon as a close
commits.
"""

import time
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from apps.benchmarks.soak import SoakReport
from apps.deals.models import Deal, Stage
from config.celery import app as celery_app
from tests.factories import (
    AccountFactory,
    ProductFactory,
    UserFactory,
    WinReasonFactory,
    onboarding_playbook,
)

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def eager_celery():
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = False


@pytest.fixture
def sales_floor():
    """A rep who can log in, with what a close needs: a win reason and a product."""
    rep = UserFactory(username="rita", role="Sales Rep")
    AccountFactory(owner=rep, csm=UserFactory(username="carla", role="CSM"))
    WinReasonFactory()
    ProductFactory()
    return rep


def soak(live_server, *extra: str) -> str:
    out = StringIO()
    call_command(
        "soak",
        "--minutes",
        "0.05",
        "--every",
        "1",
        "--base-url",
        live_server.url,
        "--username",
        "rita",
        "--password",
        "pass-for-tests-1",
        *extra,
        stdout=out,
    )
    return out.getvalue()


def test_a_short_soak_closes_deals_through_the_api_and_finds_their_tasks(
    live_server, eager_celery, sales_floor
):
    onboarding_playbook()

    output = soak(live_server, "--settle", "10")

    closed = Deal.objects.filter(name__startswith="Soak ", stage=Stage.CLOSED_WON).count()
    assert closed >= 2
    assert f"deals closed: {closed}" in output
    assert f"deals with their onboarding task: {closed}" in output
    assert "HTTP errors: 0" in output
    assert "close to first task: p50" in output
    assert "/healthz at the end: ok" in output
    assert output.rstrip().endswith("soak passed")


def test_a_closed_deal_without_its_onboarding_task_fails_the_soak(
    live_server, eager_celery, sales_floor
):
    # No published playbook: the closes succeed and no task ever comes.
    with pytest.raises(CommandError, match=r"soak FAILED: \d+ of \d+ closed deals have no"):
        soak(live_server, "--settle", "1")


def test_the_rounds_end_early_when_every_request_fails(live_server, sales_floor):
    UserFactory(username="cora", role="CSM")  # may look, may not create accounts: 403
    out = StringIO()
    started = time.monotonic()

    with pytest.raises(CommandError, match="10 HTTP requests failed"):
        call_command(
            "soak",
            *("--minutes", "5", "--every", "0.1", "--settle", "0"),
            *("--base-url", live_server.url, "--username", "cora"),
            *("--password", "pass-for-tests-1"),
            stdout=out,
        )

    assert time.monotonic() - started < 60
    assert "10 rounds failed in a row: ending the rounds early" in out.getvalue()
    assert "HTTP 403" in out.getvalue()


def test_the_report_names_every_problem():
    report = SoakReport(
        minutes=30,
        deals_closed=3,
        deals_without_task=[7],
        latency_ms=[120.0, 180.0],
        http_errors=["POST /api/deals/: HTTP 500 boom"],
        processes_at_start={"worker": [42]},
        processes_gone=["worker (pid 42)"],
        healthz="down",
    )

    assert report.problems() == [
        "1 of 3 closed deals have no onboarding task (deal ids 7).",
        "1 HTTP requests failed.",
        "Stopped during the soak: worker (pid 42).",
        "/healthz at the end: down.",
    ]
    lines = report.lines()
    assert "close to first task: p50 120 ms, p99 180 ms, max 180 ms" in lines
    assert "processes at the end: gone: worker (pid 42)" in lines
