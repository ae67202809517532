"""A playbook's numbers on its admin page: enrolled, active, completed, cancelled, and per
step reached, done, skipped, dead; a fixed number of queries however many enrollments."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.core import clock
from apps.core.models import DomainEvent
from apps.engine.execution import step_run_execute
from apps.engine.models import Enrollment, StepRun
from apps.engine.selectors import playbook_numbers
from apps.engine.services import enrollment_cancel
from tests.engine.test_walking_skeleton import win_and_process
from tests.factories import AccountFactory, closable_deal, programme_playbook

pytestmark = pytest.mark.django_db


def enroll_rows(playbook, count: int, *, state=Enrollment.State.ACTIVE, runs=()):
    """Enrollments written as rows (with their runs' states), for counting."""
    for _ in range(count):
        account = AccountFactory()
        event = DomainEvent.objects.create(
            name="playbook.bulk_enrolled", aggregate_type="account", aggregate_id=account.pk
        )
        enrollment = Enrollment.objects.create(
            playbook=playbook,
            version=playbook.current_version,
            account=account,
            trigger_event=event,
            state=state,
        )
        for key, run_state in runs:
            StepRun.objects.create(
                enrollment=enrollment,
                step_key=key,
                kind="task",
                due_at=clock.now(),
                state=run_state,
            )


def test_the_numbers_follow_enrollments_through_the_engine(rep):
    playbook = programme_playbook(name="New customer onboarding")  # on deal.closed_won
    first = win_and_process(closable_deal(owner=rep), rep)
    second = win_and_process(closable_deal(owner=rep), rep)
    assert step_run_execute(step_run_id=first.step_runs.get(step_key="review").pk) == "done"
    enrollment_cancel(enrollment=second, reason="Deal reopened")

    numbers = playbook_numbers(playbook=playbook)

    assert (numbers.enrolled, numbers.active, numbers.completed, numbers.cancelled) == (
        2,
        1,
        0,
        1,
    )
    review, follow_up = numbers.steps
    assert (review.name, review.reached, review.done, review.scheduled) == (
        "Business review",
        1,
        1,
        0,
    )
    assert (follow_up.name, follow_up.reached, follow_up.done) == ("Follow-up", 0, 0)


def test_per_step_counts_add_up_and_steps_of_older_versions_are_listed():
    playbook = programme_playbook()
    done, skipped, dead = StepRun.State.DONE, StepRun.State.SKIPPED, StepRun.State.DEAD
    enroll_rows(playbook, 3, state=Enrollment.State.COMPLETED, runs=[("review", done)])
    enroll_rows(playbook, 2, runs=[("review", skipped), ("follow-up", StepRun.State.PENDING)])
    enroll_rows(playbook, 1, runs=[("review", dead), ("retired", done)])
    enroll_rows(playbook, 1, state=Enrollment.State.PAUSED)

    numbers = playbook_numbers(playbook=playbook)

    assert (numbers.enrolled, numbers.active, numbers.paused, numbers.completed) == (7, 3, 1, 3)
    by_key = {step.key: step for step in numbers.steps}
    review = by_key["review"]
    assert (review.reached, review.done, review.skipped, review.dead) == (6, 3, 2, 1)
    assert (by_key["follow-up"].reached, by_key["follow-up"].scheduled) == (0, 2)
    # "retired" is in no version: runs of unknown steps are not invented into the table.
    assert "retired" not in by_key


def test_the_numbers_cost_the_same_queries_for_one_enrollment_or_forty(django_assert_num_queries):
    playbook = programme_playbook()
    enroll_rows(playbook, 1, runs=[("review", StepRun.State.DONE)])
    with CaptureQueriesContext(connection) as few:
        playbook_numbers(playbook=playbook)
    enroll_rows(playbook, 39, runs=[("review", StepRun.State.DONE), ("follow-up", "pending")])

    with django_assert_num_queries(len(few.captured_queries)):
        numbers = playbook_numbers(playbook=playbook)

    assert len(few.captured_queries) == 3
    assert numbers.enrolled == 40


def test_the_playbook_page_loads_its_numbers(client, admin_user, django_assert_max_num_queries):
    playbook = programme_playbook()
    enroll_rows(playbook, 4, runs=[("review", StepRun.State.DONE)])
    client.force_login(admin_user)

    change = client.get(f"/admin/playbooks/playbook/{playbook.pk}/change/")
    numbers_url = f"/admin/engine/enrollment/numbers/{playbook.pk}/"
    assert f'hx-get="{numbers_url}"' in change.content.decode()
    with django_assert_max_num_queries(8):
        partial = client.get(numbers_url, headers={"HX-Request": "true"})
    page = client.get(numbers_url)

    html = partial.content.decode()
    assert "<html" not in html and "Business review" in html
    assert f'?playbook__id__exact={playbook.pk}&amp;state__exact=active">4</a>' in html
    assert "Numbers: Quarterly business reviews" in page.content.decode()


def test_the_numbers_need_the_playbook_view_permission(client, outsider):
    playbook = programme_playbook()
    outsider.is_staff = True
    outsider.save()
    client.force_login(outsider)
    assert client.get(f"/admin/engine/enrollment/numbers/{playbook.pk}/").status_code == 403


def test_a_steps_count_links_to_those_runs(client, admin_user):
    playbook = programme_playbook()
    enroll_rows(playbook, 2, runs=[("review", StepRun.State.DONE)])
    enroll_rows(playbook, 1, runs=[("review", StepRun.State.DEAD)])
    client.force_login(admin_user)

    listing = client.get(
        "/admin/engine/steprun/",
        {
            "enrollment__playbook__id__exact": playbook.pk,
            "step_key": "review",
            "state__exact": "done",
        },
    )

    assert listing.status_code == 200
    assert listing.context["cl"].result_count == 2
