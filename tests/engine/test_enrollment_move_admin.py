"""Moving enrollments in the admin: the version's page links to the move, the dry run
(a GET) lists each enrollment's steps and changes nothing, the move starts a run whose
page shows its progress and each enrollment's record."""

import re

import pytest

from apps.core import clock
from apps.engine.models import Enrollment, EnrollmentMove, EnrollmentVersionChange, StepRun
from apps.engine.tasks import move_enrollments
from tests.engine.moves import CHECKIN, DAY, T0, enroll, playbook_v1, publish
from tests.engine.test_branching_and_recurrence import run_due

pytestmark = pytest.mark.django_db

ADD = "/admin/engine/enrollmentmove/add/"


@pytest.fixture
def v2(rep):
    playbook = playbook_v1()
    for _ in range(3):
        enroll(rep)
    run_due(T0)
    return publish(playbook, [{**CHECKIN, "delay_days": 7}])


def test_a_published_version_links_to_moving_its_enrollments(client, admin_user, v2):
    client.force_login(admin_user)

    page = client.get(f"/admin/playbooks/playbookversion/{v2.pk}/change/").content.decode()

    assert "Move running enrollments to this version" in page
    assert f"{ADD}?to_version={v2.pk}" in page


def test_a_cs_manager_may_not_move_enrollments(client, cs_manager, v2):
    client.force_login(cs_manager)

    assert client.get(f"{ADD}?to_version={v2.pk}").status_code == 403
    assert client.post(ADD, {"to_version": v2.pk}).status_code == 403
    assert not EnrollmentMove.objects.exists()


def test_an_unknown_version_is_named_as_the_problem(client, admin_user, v2):
    client.force_login(admin_user)

    page = client.get(f"{ADD}?to_version=9999").content.decode()

    assert "There is no published version with id 9999." in page
    assert 'id="move-dry-run"' not in page


def test_the_dry_run_lists_each_enrollment_and_changes_nothing(
    client, admin_user, v2, django_assert_max_num_queries
):
    client.force_login(admin_user)
    before = sorted(StepRun.objects.values_list("pk", "state", "due_at"))
    query = {
        "to_version": v2.pk,
        "added_steps": "from_start",
        "retimed_steps": "retime",
        "dry_run": "Dry run",
    }

    with clock.frozen(T0 + DAY), django_assert_max_num_queries(20):
        response = client.get(ADD, query)

    page = response.content.decode()
    assert response.status_code == 200
    assert "<strong>3</strong> running enrollments" in page
    assert (
        "6 steps kept, 3 removed, 0 added, 3 re-timed; "
        "0 step runs scheduled, 3 re-timed, 3 cancelled."
    ) in page
    assert page.count("Tue 15 Dec 2026, 09:00 UTC → Tue 8 Dec 2026, 09:00 UTC.") == 3
    assert "Move 3 enrollments" in page
    assert sorted(StepRun.objects.values_list("pk", "state", "due_at")) == before
    assert not EnrollmentMove.objects.exists()


def test_the_dry_run_writes_times_in_the_accounts_zone_named_as_the_preview_does(
    client, admin_user, rep
):
    playbook = playbook_v1()
    enroll(rep, timezone="Asia/Tokyo", country="JP")
    run_due(T0)
    v2 = publish(playbook, [{**CHECKIN, "delay_days": 7}])
    client.force_login(admin_user)
    query = {"to_version": v2.pk, "added_steps": "from_start", "retimed_steps": "retime"}

    with clock.frozen(T0 + DAY):
        page = client.get(ADD, {**query, "dry_run": "Dry run"}).content.decode()

    # 09:00 UTC is 18:00 in Tokyo.
    assert "Tue 15 Dec 2026, 18:00 JST → Tue 8 Dec 2026, 18:00 JST." in page


def test_nothing_to_move_is_said_and_no_move_starts(client, admin_user, rep):
    playbook = playbook_v1()
    enroll(rep)
    client.force_login(admin_user)
    v1 = playbook.current_version

    response = client.post(
        ADD, {"to_version": v1.pk, "added_steps": "from_start", "retimed_steps": "retime"}
    )

    assert response.status_code == 200
    assert "nothing to move to v1" in response.content.decode()
    assert not EnrollmentMove.objects.exists()


def test_the_move_runs_and_its_page_shows_progress_and_each_record(
    client, admin_user, v2, django_capture_on_commit_callbacks
):
    client.force_login(admin_user)
    form = {
        "to_version": v2.pk,
        "added_steps": "from_start",
        "retimed_steps": "retime",
        "canary": "2",
    }

    with clock.frozen(T0 + DAY), django_capture_on_commit_callbacks() as sent:
        response = client.post(ADD, form)
    move = EnrollmentMove.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/admin/engine/enrollmentmove/{move.pk}/change/"
    assert len(sent) == 1
    queued = client.get(f"/admin/engine/enrollmentmove/{move.pk}/progress/").content.decode()
    assert "Queued: 2 enrollments to move to v2 (canary: the first 2)." in queued
    assert 'hx-trigger="every 1s"' in queued

    with clock.frozen(T0 + DAY):
        move_enrollments(move.pk)  # what the worker does

    done = client.get(f"/admin/engine/enrollmentmove/{move.pk}/progress/").content.decode()
    assert "Done: 2 moved, 0 failed, 0 unchanged (canary: the first 2)." in done
    assert "hx-trigger" not in done
    assert "Dry run for the rest" in done
    assert "<td>Wed 2 Dec 2026, 09:00 UTC</td>" in done  # started, with its zone
    page = client.get(f"/admin/engine/enrollmentmove/{move.pk}/change/").content.decode()
    assert page.count("Moved</td>") == 2
    # Started, finished, and when each of the two was moved.
    assert page.count("<td>Wed 2 Dec 2026, 09:00 UTC</td>") == 4
    assert Enrollment.objects.filter(version=v2).count() == 2
    record = EnrollmentVersionChange.objects.first()
    detail = client.get(f"/admin/engine/enrollmentversionchange/{record.pk}/change/")
    assert re.search(r"<td>Check-in call</td><td>Re-timed</td>", detail.content.decode())
