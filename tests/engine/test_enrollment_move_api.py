"""Moving running enrollments through the REST API: the dry run, the move run by its
task, its progress and records, bad input, and who may do what."""

import pytest
import schemathesis
from rest_framework.test import APIClient
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from apps.apitokens.services import api_token_create
from apps.core import clock
from apps.engine.models import Enrollment, EnrollmentMove, EnrollmentVersionChange, StepRun
from apps.playbooks.models import Playbook, PlaybookVersion
from config.celery import app as celery_app
from config.wsgi import application
from tests.api.test_schema_fuzz import connection_kept
from tests.engine.moves import CHECKIN, DAY, HANDOVER, T0, enroll, playbook_v1, publish
from tests.engine.test_branching_and_recurrence import run_due
from tests.factories import programme_playbook

pytestmark = pytest.mark.django_db

URL = "/api/enrollment-moves/"
SCHEMA_CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
NOW = T0 + DAY


@pytest.fixture
def api():
    return APIClient()


@pytest.fixture
def worker():
    """A task sent after commit runs at once in this process, as a worker would run it,
    and its errors fail the test."""
    celery_app.conf.task_always_eager = True
    celery_app.conf.task_eager_propagates = True
    yield
    celery_app.conf.task_always_eager = False
    celery_app.conf.task_eager_propagates = False


@pytest.fixture
def v2(rep):
    """Three enrollments on v1 whose kickoff ran; v2 moves the check-in from day 14 to
    day 7, drops the old survey call and adds a handover two days after the kickoff."""
    playbook = playbook_v1()
    for _ in range(3):
        enroll(rep)
    run_due(T0)
    return publish(playbook, [{**CHECKIN, "delay_days": 7}, HANDOVER])


def runs_now() -> dict[int, tuple[str, object]]:
    return {run.pk: (run.state, run.due_at) for run in StepRun.objects.all()}


def post(api, body):
    with clock.frozen(NOW):
        return api.post(URL, body, format="json")


def post_and_run(api, body, capture):
    """POST, then run what the request sent after commit (the worker fixture runs a task
    at once), at the same moment."""
    with clock.frozen(NOW), capture(execute=True):
        return post(api, body)


def test_a_dry_run_counts_what_the_move_does_and_changes_nothing(api, admin_user, v2):
    api.force_authenticate(admin_user)
    before = runs_now()

    response = post(api, {"to_version": v2.pk, "dry_run": True})

    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["playbook_name"], body["to_version_number"], body["from_version"]) == (
        "New customer onboarding",
        2,
        None,
    )
    assert (body["running"], body["enrollments"], body["completing"]) == (3, 3, 0)
    assert body["steps"] == {"kept": 6, "removed": 3, "added": 3, "retimed": 3}
    assert body["runs"] == {"scheduled": 3, "retimed": 3, "cancelled": 3}
    assert body["plans_count"] == 3 and len(body["plans"]) == 3
    plan = body["plans"][0]
    assert (plan["from_version_number"], plan["state"], plan["completes"]) == (1, "active", False)
    checkin = next(step for step in plan["steps"] if step["key"] == "checkin")
    assert checkin["change"] == "retimed"
    assert checkin["outcome"] == "Tue 15 Dec 2026, 09:00 UTC → Tue 8 Dec 2026, 09:00 UTC."
    assert runs_now() == before
    assert not EnrollmentMove.objects.exists()
    assert not Enrollment.objects.filter(version=v2).exists()


def test_the_dry_run_lists_at_most_25_plans_and_counts_them_all(api, admin_user, rep):
    playbook = playbook_v1()
    for _ in range(27):
        enroll(rep)
    v2 = publish(playbook, [{**CHECKIN, "delay_days": 7}])
    api.force_authenticate(admin_user)

    body = post(api, {"to_version": v2.pk, "dry_run": True}).json()

    assert (body["enrollments"], body["plans_count"], len(body["plans"])) == (27, 27, 25)
    assert body["steps"]["retimed"] == 27


def test_the_move_runs_in_its_task_and_does_what_the_dry_run_said(
    api, admin_user, v2, worker, django_capture_on_commit_callbacks
):
    api.force_authenticate(admin_user)
    dry_run = post(api, {"to_version": v2.pk, "dry_run": True}).json()
    before = runs_now()

    with clock.frozen(NOW), django_capture_on_commit_callbacks(execute=True) as sent:
        response = api.post(URL, {"to_version": v2.pk}, format="json")

    assert response.status_code == 202, response.json()
    move = response.json()
    assert response["Location"] == f"{URL}{move['id']}/"
    assert (move["state"], move["total"], move["percent"]) == ("queued", 3, 0)
    assert move["summary"] == "Queued: 3 enrollments to move to v2."
    assert move["requested_by_username"] == "ada" and move["added_steps"] == "from_start"
    assert len(sent) == 1  # engine.move_enrollments, which ran as the worker would

    progress = api.get(f"{URL}{move['id']}/").json()
    assert (progress["state"], progress["percent"]) == ("done", 100)
    assert (progress["moved"], progress["failed"], progress["unchanged"]) == (3, 0, 0)
    assert progress["summary"] == "Done: 3 moved, 0 failed, 0 unchanged."
    assert progress["started_at"] and progress["finished_at"]
    assert Enrollment.objects.filter(version=v2).count() == 3

    # The step runs changed as the dry run counted.
    after = runs_now()
    created = set(after) - set(before)
    cancelled = [pk for pk in before if after[pk][0] == "cancelled" != before[pk][0]]
    retimed = [pk for pk in before if after[pk][1] != before[pk][1]]
    assert (len(created), len(retimed), len(cancelled)) == (
        dry_run["runs"]["scheduled"],
        dry_run["runs"]["retimed"],
        dry_run["runs"]["cancelled"],
    )

    # Each enrollment's record says what its plan said.
    records = api.get(f"{URL}{move['id']}/changes/").json()
    assert records["count"] == 3
    planned = {plan["enrollment"]: plan["steps"] for plan in dry_run["plans"]}
    for record in records["results"]:
        assert record["steps"] == planned[record["enrollment"]]
        assert (record["outcome"], record["from_version_number"], record["to_version_number"]) == (
            "moved",
            1,
            2,
        )
        assert (record["moved_by_username"], record["error"]) == ("ada", "")
        assert record["moved_at"]
    assert [r["enrollment"] for r in records["results"]] == sorted(planned)


def test_a_second_move_is_refused_as_nothing_to_move(
    api, admin_user, v2, worker, django_capture_on_commit_callbacks
):
    api.force_authenticate(admin_user)
    assert (
        post_and_run(api, {"to_version": v2.pk}, django_capture_on_commit_callbacks).status_code
        == 202
    )
    after_first = runs_now()

    for dry_run in (False, True):
        response = post(api, {"to_version": v2.pk, "dry_run": dry_run})

        assert response.status_code == 400
        assert response.json() == {
            "to_version": [
                "No running enrollment of “New customer onboarding” is on other versions: "
                "nothing to move to v2."
            ]
        }
    assert EnrollmentMove.objects.count() == 1
    assert runs_now() == after_first


def test_a_canary_moves_the_first_enrollments_and_a_second_move_the_rest(
    api, admin_user, v2, worker, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    api.force_authenticate(admin_user)
    first_ids = list(Enrollment.objects.order_by("pk").values_list("pk", flat=True))

    canary_dry_run = post(api, {"to_version": v2.pk, "canary": 1, "dry_run": True}).json()
    canary = post_and_run(api, {"to_version": v2.pk, "canary": 1}, capture).json()
    rest = post_and_run(api, {"to_version": v2.pk, "added_steps": "from_now"}, capture).json()

    assert (canary_dry_run["running"], canary_dry_run["enrollments"]) == (3, 1)
    assert [plan["enrollment"] for plan in canary_dry_run["plans"]] == first_ids[:1]
    assert api.get(f"{URL}{canary['id']}/").json()["summary"] == (
        "Done: 1 moved, 0 failed, 0 unchanged (canary: the first 1)."
    )
    assert api.get(f"{URL}{rest['id']}/").json()["moved"] == 2
    moves = api.get(URL).json()
    assert moves["count"] == 2
    assert [m["id"] for m in moves["results"]] == [rest["id"], canary["id"]]  # newest first
    assert [m["canary"] for m in moves["results"]] == [None, 1]
    records = api.get(f"{URL}{canary['id']}/changes/").json()["results"]
    assert [r["enrollment"] for r in records] == first_ids[:1]


def test_a_move_whose_message_was_lost_is_resumed(
    api, admin_user, v2, worker, django_capture_on_commit_callbacks
):
    api.force_authenticate(admin_user)
    with django_capture_on_commit_callbacks(execute=False):  # the message never arrives
        move = post(api, {"to_version": v2.pk}).json()
    assert api.get(f"{URL}{move['id']}/").json()["state"] == "queued"

    with clock.frozen(NOW), django_capture_on_commit_callbacks(execute=True):
        response = api.post(f"{URL}{move['id']}/resume/")

    assert response.status_code == 202, response.json()
    assert response["Location"] == f"{URL}{move['id']}/"
    progress = api.get(f"{URL}{move['id']}/").json()
    assert (progress["state"], progress["moved"]) == ("done", 3)

    again = api.post(f"{URL}{move['id']}/resume/")
    assert again.status_code == 409
    assert "This move is done" in again.json()["detail"]


def test_the_records_can_be_filtered_by_outcome(
    api, cs_manager, admin_user, v2, worker, django_capture_on_commit_callbacks
):
    api.force_authenticate(admin_user)
    move_id = post_and_run(api, {"to_version": v2.pk}, django_capture_on_commit_callbacks)
    move = EnrollmentMove.objects.get(pk=move_id.json()["id"])
    # One enrollment's record as the run writes it when that enrollment's move fails.
    stuck = Enrollment.objects.first()
    EnrollmentVersionChange.objects.filter(move=move, enrollment=stuck).update(
        outcome=EnrollmentVersionChange.Outcome.FAILED, error="IntegrityError: boom", steps=[]
    )
    api.force_authenticate(cs_manager)

    failed = api.get(f"{URL}{move.pk}/changes/", {"outcome": "failed"}).json()
    moved = api.get(f"{URL}{move.pk}/changes/", {"outcome": "moved"}).json()
    bad = api.get(f"{URL}{move.pk}/changes/", {"outcome": "lost"})

    assert [(r["enrollment"], r["error"], r["steps"]) for r in failed["results"]] == [
        (stuck.pk, "IntegrityError: boom", [])
    ]
    assert moved["count"] == 2
    assert bad.status_code == 400
    assert bad.json() == {"outcome": ["Choose one of: moved, failed."]}


def _draft_playbook_id() -> int:
    """The id of a playbook never published: it has no version to move to."""
    draft = Playbook.objects.create(name="Renewal programme (draft)")
    while PlaybookVersion.objects.filter(pk=draft.pk).exists():
        draft = Playbook.objects.create(name=f"Renewal programme (draft {draft.pk})")
    return draft.pk


def _other_playbooks_version() -> int:
    return programme_playbook().current_version_id


def _v1(v2) -> int:
    return PlaybookVersion.objects.get(playbook=v2.playbook, number=1).pk


def _v3_from_v2(v2) -> dict:
    v3 = publish(v2.playbook, [{**CHECKIN, "delay_days": 3}])
    return {"to_version": v3.pk, "from_version": v2.pk}


NO_VERSION = (
    "There is no published version with id {}. A draft must be published before "
    "enrollments can move to it."
)


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"to_version": 424242}, "to_version", NO_VERSION.format(424242)),
        ({"to_version": 10**20}, "to_version", NO_VERSION.format(10**20)),
        ({"to_version": "DRAFT"}, "to_version", "A draft must be published"),
        ({"to_version": "v2"}, "to_version", "A valid integer is required."),
        ({"to_version": None}, "to_version", "This field may not be null."),
        ({"to_version": "ABSENT"}, "to_version", "This field is required."),
        ({"to_version": "V1"}, "to_version", "is on other versions: nothing to move to v1."),
        ({"from_version": "OTHER"}, "from_version", "v1 belongs to “Quarterly business reviews”"),
        ({"from_version": "SAME"}, "from_version", "already on the version to move to."),
        ({"from_version": 424242}, "from_version", NO_VERSION.format(424242)),
        ({"from_version": 10**20}, "from_version", NO_VERSION.format(10**20)),
        ("NOTHING ON V2", "from_version", "is on v2: nothing to move to v3."),
        ({"added_steps": "whenever"}, "added_steps", "Choose one of: from_start, from_now."),
        ({"retimed_steps": "shift"}, "retimed_steps", "Choose one of: retime, leave."),
        ({"canary": 0}, "canary", "A whole number from 1 to 100000, or empty to move all."),
        ({"canary": -5}, "canary", "A whole number from 1 to 100000, or empty to move all."),
        ({"canary": 10**20}, "canary", "A whole number from 1 to 100000, or empty to move all."),
        ({"canary": 100001}, "canary", "A whole number from 1 to 100000, or empty to move all."),
        ({"canary": "ten"}, "canary", "A valid integer is required."),
        ({"dry_run": "maybe"}, "dry_run", "Must be a valid boolean."),
    ],
)
@pytest.mark.parametrize("dry_run", [True, False])
def test_bad_input_is_a_400_naming_the_field_and_changes_nothing(
    api, admin_user, v2, body, field, message, dry_run
):
    api.force_authenticate(admin_user)
    if body == "NOTHING ON V2":
        body = _v3_from_v2(v2)
    body = {"to_version": v2.pk, "dry_run": dry_run, **body}
    replace = {
        "DRAFT": _draft_playbook_id,
        "V1": lambda: _v1(v2),
        "OTHER": _other_playbooks_version,
        "SAME": lambda: v2.pk,
    }
    for key, value in list(body.items()):
        if value == "ABSENT":
            del body[key]
        elif isinstance(value, str) and value in replace:
            body[key] = replace[value]()
    before = runs_now()

    response = post(api, body)

    assert response.status_code == 400, response.json()
    errors = response.json()
    assert field in errors, errors
    assert any(message in m for m in errors[field]), errors
    assert not EnrollmentMove.objects.exists()
    assert not EnrollmentVersionChange.objects.exists()
    assert runs_now() == before
    assert not Enrollment.objects.exclude(version__number=1).exists()


def test_a_cs_manager_may_watch_moves_and_read_their_records_but_not_move(
    api, admin_user, cs_manager, v2, worker, django_capture_on_commit_callbacks
):
    api.force_authenticate(admin_user)
    move = post_and_run(
        api, {"to_version": v2.pk, "canary": 1}, django_capture_on_commit_callbacks
    ).json()
    api.force_authenticate(cs_manager)

    assert post(api, {"to_version": v2.pk}).status_code == 403
    assert post(api, {"to_version": v2.pk, "dry_run": True}).status_code == 403
    assert api.post(f"{URL}{move['id']}/resume/").status_code == 403
    assert api.get(URL).json()["count"] == 1
    assert api.get(f"{URL}{move['id']}/").json()["moved"] == 1
    assert api.get(f"{URL}{move['id']}/changes/").json()["count"] == 1
    assert EnrollmentMove.objects.count() == 1
    assert Enrollment.objects.filter(version=v2).count() == 1


@pytest.mark.parametrize("person", ["csm", "rep", "outsider"])
def test_other_roles_may_neither_move_nor_watch(api, admin_user, v2, person, request):
    api.force_authenticate(admin_user)
    move = post(api, {"to_version": v2.pk}).json()
    api.force_authenticate(request.getfixturevalue(person))

    assert post(api, {"to_version": v2.pk}).status_code == 403
    assert post(api, {"to_version": v2.pk, "dry_run": True}).status_code == 403
    assert api.post(f"{URL}{move['id']}/resume/").status_code == 403
    assert api.get(URL).status_code == 403
    assert api.get(f"{URL}{move['id']}/").status_code == 403
    assert api.get(f"{URL}{move['id']}/changes/").status_code == 403
    assert EnrollmentMove.objects.count() == 1


def test_anonymous_requests_are_refused(api, admin_user, v2):
    api.force_authenticate(admin_user)
    move = post(api, {"to_version": v2.pk}).json()
    api.force_authenticate(None)

    assert post(api, {"to_version": v2.pk, "dry_run": True}).status_code == 401
    assert api.get(URL).status_code == 401
    assert api.get(f"{URL}{move['id']}/changes/").status_code == 401
    assert EnrollmentMove.objects.count() == 1


def test_the_lists_run_a_fixed_number_of_queries(
    api, admin_user, rep, worker, django_capture_on_commit_callbacks, django_assert_max_num_queries
):
    playbook = playbook_v1()
    for _ in range(6):
        enroll(rep)
    versions = [publish(playbook, [{**CHECKIN, "delay_days": days}]) for days in (7, 8, 9)]
    api.force_authenticate(admin_user)
    for version in versions:
        last = post_and_run(
            api, {"to_version": version.pk}, django_capture_on_commit_callbacks
        ).json()

    with django_assert_max_num_queries(6):
        moves = api.get(URL).json()
    with django_assert_max_num_queries(6):
        records = api.get(f"{URL}{last['id']}/changes/").json()

    assert moves["count"] == 3 and records["count"] == 6
    assert {m["to_version_number"] for m in moves["results"]} == {2, 3, 4}


def test_the_answers_match_the_api_schema(
    admin_user, v2, worker, django_capture_on_commit_callbacks
):
    """The dry run with its plans, the queued move, its progress and its records, as the
    OpenAPI schema documents them (the schema fuzz tests seldom find a version to move to)."""
    _, key = api_token_create(user=admin_user, name="schema check")
    with connection_kept():
        schema = schemathesis.openapi.from_wsgi("/api/schema/", application)

    def call(path: str, method: str, expected: int, **parts):
        if "body" in parts:
            parts["media_type"] = "application/json"
        case = schema[path][method].Case(**parts)
        with clock.frozen(NOW), connection_kept():
            response = case.call(headers={"Authorization": f"Token {key}"})
        assert response.status_code == expected, response.text
        case.validate_response(response, checks=SCHEMA_CHECKS)
        return response.json()

    call(URL, "POST", 200, body={"to_version": v2.pk, "dry_run": True})
    with django_capture_on_commit_callbacks(execute=True):
        move = call(URL, "POST", 202, body={"to_version": v2.pk, "from_version": None})
    ids = {"id": move["id"]}
    assert call(f"{URL}{{id}}/", "GET", 200, path_parameters=ids)["state"] == "done"
    assert call(f"{URL}{{id}}/changes/", "GET", 200, path_parameters=ids)["count"] == 3
    assert call(URL, "GET", 200)["count"] == 1
