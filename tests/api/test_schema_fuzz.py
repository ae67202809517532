"""The API keeps to its OpenAPI schema under generated input (schemathesis).

Every operation of the live schema (``/api/schema/``) is called with generated
parameters and bodies through the WSGI application (no server), as the demo's admin and
as one of its CSMs, over the demo data. A response must not be a 5xx, must have a status
the schema lists for the operation, and must match that status's documented body and
content type. A few derandomized examples per operation keep the run near a minute and
the same on every run. A second pass sends input the schema forbids (wrong types, missing
required fields, out-of-range values): it must be refused with a documented 4xx, never a
5xx.

Hypothesis is driven here directly, not through schemathesis's pytest plugin (turned off
in pyproject.toml: its lazy schemas do not run on pytest 9).
"""

import contextlib
from collections import Counter, defaultdict

import pytest
import schemathesis
from django.contrib.auth.models import User
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from rest_framework.test import APIClient
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from apps.apitokens.services import api_token_create
from apps.core.outbox import drain
from apps.demo.services import demo_data_seed
from apps.engine.models import Enrollment
from apps.engine.moves import enrollment_move_run, enrollment_move_start
from apps.playbooks.services import playbook_publish
from config.wsgi import application

pytestmark = pytest.mark.django_db

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
EXAMPLES_PER_OPERATION = 8
# Input the schema forbids: a refusal carries the shared error body, which the positive
# pass already checks, so here only the status matters.
NEGATIVE_CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance]
NEGATIVE_EXAMPLES_PER_OPERATION = 4


@pytest.fixture
def demo(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    demo_data_seed()
    drain()  # the demo's events start playbooks: tasks, notifications, emails
    a_finished_move()


def a_finished_move() -> None:
    """Running enrollments moved to a version published after they started, so that the
    moves' endpoints have a move and its records to answer with."""
    running = Enrollment.objects.filter(state=Enrollment.State.ACTIVE).first()
    version = playbook_publish(playbook=running.playbook, actor=None)
    move = enrollment_move_start(to_version=version.pk, actor=None)
    enrollment_move_run(move_id=move.pk)


@contextlib.contextmanager
def connection_kept():
    """Django's WSGI handler closes the database connection after each request; the test
    client turns that off so requests run inside the test's transaction, and so do we."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def failures_for(
    username: str,
    statuses: dict[str, Counter],
    mode: GenerationMode = GenerationMode.POSITIVE,
) -> list[str]:
    """Fuzz every operation as ``username``; one line per operation that broke a check.
    ``statuses`` gets the statuses each operation answered with."""
    negative = mode == GenerationMode.NEGATIVE
    checks = NEGATIVE_CHECKS if negative else CHECKS
    user = User.objects.get(username=username)
    with connection_kept():
        schema = schemathesis.openapi.from_wsgi("/api/schema/", application)
    visible = visible_ids(user, schema)
    failures = []
    for result in schema.get_all_operations():
        operation = result.ok()
        strategy = operation.as_strategy(generation_mode=mode)
        pool = visible.get(operation.path.partition("{id}")[0])
        if "{id}" in operation.path and pool:
            # Generated ids almost never exist; half the cases take one the user can see.
            strategy = st.tuples(strategy, st.sampled_from(pool), st.booleans()).map(
                lambda drawn: with_id(*drawn)
            )

        @settings(
            max_examples=NEGATIVE_EXAMPLES_PER_OPERATION if negative else EXAMPLES_PER_OPERATION,
            deadline=None,
            derandomize=True,  # the same cases on every run: CI fails only on a change
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=strategy)
        def call(case):
            # A fresh token per call: a generated DELETE /api/auth/tokens/{id}/ may
            # revoke the one in use.
            _, key = api_token_create(user=user, name="schema fuzz")
            with connection_kept():
                response = case.call(headers={"Authorization": f"Token {key}"})
            statuses[case.operation.label][response.status_code] += 1
            case.validate_response(response, checks=checks)

        try:
            call()
        except Unsatisfiable:
            if not negative:
                raise
            # Nothing about the operation can be broken (no parameters, no body).
        except Exception as exc:
            failures.append(f"{operation.label}: {exc}")
    return failures


def visible_ids(user, schema) -> dict[str, list[int]]:
    """For each list endpoint, the ids of the first rows ``user`` sees there."""
    client = APIClient()
    client.force_authenticate(user)
    visible = {}
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.method.upper() != "GET" or "{" in operation.path:
            continue
        response = client.get(operation.path, {"page_size": 50})
        body = response.json() if response.status_code == 200 else {}
        rows = body.get("results", []) if isinstance(body, dict) else []
        ids = [row["id"] for row in rows if isinstance(row, dict) and "id" in row]
        if ids:
            visible[operation.path] = ids
    return visible


def with_id(case, id_: int, use_it: bool):
    if use_it:
        case.path_parameters = {**(case.path_parameters or {}), "id": id_}
    return case


def assert_answered_as_documented(username: str) -> None:
    statuses: dict[str, Counter] = defaultdict(Counter)
    failures = failures_for(username, statuses)
    assert not failures, "\n\n".join(failures)
    # A run that only ever met 401s or 404s would prove nothing: most operations must
    # have succeeded at least once.
    succeeded = [op for op, seen in statuses.items() if any(200 <= c < 300 for c in seen)]
    assert len(succeeded) >= len(statuses) / 2, dict(statuses)


def test_the_api_answers_an_admin_as_documented(demo):
    assert_answered_as_documented("admin")


def test_the_api_answers_a_csm_as_documented(demo):
    assert_answered_as_documented("carla.csm")


def test_the_api_refuses_input_its_schema_forbids_as_documented(demo):
    statuses: dict[str, Counter] = defaultdict(Counter)
    failures = failures_for("carla.csm", statuses, GenerationMode.NEGATIVE)
    assert not failures, "\n\n".join(failures)
    refused = [op for op, seen in statuses.items() if any(400 <= c < 500 for c in seen)]
    assert refused, dict(statuses)
