"""Moving running enrollments to a new version: the dry run says what the move does to
each step (kept, removed, added, re-timed), the apply does exactly that, records it, and
a second run changes nothing."""

import datetime as dt

import pytest

from apps.core import clock
from apps.core.errors import ValidationFailed
from apps.engine.bulk import bulk_enrollment_run, bulk_enrollment_start
from apps.engine.models import Enrollment, EnrollmentMove, EnrollmentVersionChange, StepRun
from apps.engine.moves import (
    MoveOptions,
    enrollment_move,
    enrollment_move_preview,
    enrollment_move_run,
    enrollment_move_start,
    move_request_check,
)
from apps.playbooks.models import PlaybookStep
from apps.playbooks.services import playbook_publish
from apps.queues.models import Task
from tests.engine.moves import (
    CHECKIN,
    DAY,
    HANDOVER,
    T0,
    TASK,
    enroll,
    playbook_v1,
    publish,
    step_record,
)
from tests.engine.test_branching_and_recurrence import run_due
from tests.factories import AccountFactory, programme_playbook

pytestmark = pytest.mark.django_db

WEEKLY = {
    "key": "weekly",
    "name": "Weekly usage check",
    "kind": "task",
    "config": TASK,
    "repeat_every_days": 7,
    "repeat_max": 10,
}
FROM_NOW = MoveOptions(added_steps=EnrollmentMove.AddedSteps.FROM_NOW)
LEAVE = MoveOptions(retimed_steps=EnrollmentMove.RetimedSteps.LEAVE)


def runs(enrollment, key):
    return list(enrollment.step_runs.filter(step_key=key).order_by("occurrence"))


def move_now(enrollment, version, *, at, options=None, actor=None):
    with clock.frozen(at):
        return enrollment_move(
            enrollment_id=enrollment.pk,
            to_version=version,
            options=options or MoveOptions(),
            actor=actor,
        )


def preview_of(version, *, at, **fields):
    with clock.frozen(at):
        return enrollment_move_preview(request=move_request_check(to_version=version, **fields))


def test_the_dry_run_and_the_apply_agree(rep, admin_user):
    playbook = playbook_v1()
    enrollment = enroll(rep)
    run_due(T0)  # the kickoff runs
    v2 = publish(playbook, [{**CHECKIN, "delay_days": 10}, HANDOVER, WEEKLY])
    before = {run.pk: (run.state, run.due_at) for run in StepRun.objects.all()}

    preview = preview_of(v2, at=T0 + 5 * DAY)
    assert {run.pk: (run.state, run.due_at) for run in StepRun.objects.all()} == before
    assert Enrollment.objects.get().version.number == 1  # the dry run changed nothing
    [plan] = preview.plans
    assert [(step.key, step.change) for step in plan.steps] == [
        ("kickoff", "kept"),
        ("checkin", "retimed"),
        ("old_survey", "removed"),
        ("renewal", "kept"),
        ("handover", "added"),
        ("weekly", "added"),
    ]
    assert preview.counts == {"kept": 2, "removed": 1, "added": 2, "retimed": 1}

    change = move_now(enrollment, v2, at=T0 + 5 * DAY, actor=admin_user)

    assert change.steps == plan.as_record()
    assert (change.from_version.number, change.to_version.number) == (1, 2)
    assert change.moved_by == admin_user and change.outcome == "moved"
    enrollment.refresh_from_db()
    assert enrollment.version == v2
    assert runs(enrollment, "old_survey")[0].state == StepRun.State.CANCELLED
    assert runs(enrollment, "checkin")[0].due_at == T0 + 10 * DAY
    assert [(r.occurrence, r.state) for r in runs(enrollment, "handover")] == [(1, "pending")]
    assert [(r.occurrence, r.state) for r in runs(enrollment, "weekly")] == [(1, "pending")]


def test_a_kept_step_keeps_its_schedule_and_run(rep):
    playbook = playbook_v1()
    enrollment = enroll(rep)
    run_due(T0)
    [checkin] = runs(enrollment, "checkin")
    v2 = publish(playbook, [{**CHECKIN, "delay_days": 14, "name": "Check-in (new wording)"}])

    change = move_now(enrollment, v2, at=T0 + DAY)

    [after] = runs(enrollment, "checkin")
    assert (after.pk, after.due_at, after.state) == (checkin.pk, T0 + 14 * DAY, "pending")
    assert step_record(change, "checkin")["change"] == "kept"
    assert (
        step_record(change, "checkin")["outcome"]
        == "Schedule unchanged: due Tue 15 Dec 2026, 09:00 UTC."
    )
    # The kept step runs with the new version's wording.
    run_due(T0 + 14 * DAY)
    assert runs(enrollment, "checkin")[0].state == StepRun.State.DONE


def test_a_removed_step_is_cancelled_and_what_it_already_did_stays(rep):
    playbook = playbook_v1()
    enrollment = enroll(rep)
    run_due(T0)
    run_due(T0 + 14 * DAY)  # the check-in's task is created
    assert Task.objects.filter(status="open").count() == 2
    v2 = publish(playbook, [], renewal=False)  # every step but the kickoff removed

    change = move_now(enrollment, v2, at=T0 + 15 * DAY)

    [checkin] = runs(enrollment, "checkin")
    [survey] = runs(enrollment, "old_survey")
    assert checkin.state == StepRun.State.DONE
    assert survey.state == StepRun.State.CANCELLED
    assert survey.last_error == "Removed by the move to v2."
    assert Task.objects.filter(status="open").count() == 2  # effects left as they are
    removed = {step["key"]: step for step in change.steps if step["change"] == "removed"}
    assert removed["old_survey"]["cancelled_runs"] == [survey.pk]
    assert removed["checkin"]["outcome"] == (
        "Nothing pending to cancel. What it already did is left as it is."
    )
    # Nothing is left to run: the enrollment completes.
    enrollment.refresh_from_db()
    assert enrollment.state == Enrollment.State.COMPLETED


def test_an_added_step_is_timed_from_the_start_and_runs_now_when_its_time_has_passed(rep):
    playbook = playbook_v1([])
    enrollment = enroll(rep)
    run_due(T0)
    later = {**CHECKIN, "key": "day_20", "delay_days": 20}
    early = {**CHECKIN, "key": "day_3", "delay_days": 3}
    v2 = publish(playbook, [early, later])

    move_now(enrollment, v2, at=T0 + 5 * DAY)

    assert runs(enrollment, "day_20")[0].due_at == T0 + 20 * DAY
    [passed] = runs(enrollment, "day_3")
    assert passed.due_at == T0 + 3 * DAY and passed.state == StepRun.State.PENDING
    done = run_due(T0 + 5 * DAY)  # what the dispatcher does next
    assert [run.step_key for run in done] == ["day_3"]


def test_an_added_step_whose_time_has_passed_can_be_timed_from_now(rep):
    playbook = playbook_v1([])
    enrollment = enroll(rep)
    run_due(T0)
    v2 = publish(playbook, [{**CHECKIN, "key": "day_3", "delay_days": 3}])

    change = move_now(enrollment, v2, at=T0 + 5 * DAY, options=FROM_NOW)

    assert runs(enrollment, "day_3")[0].due_at == T0 + 8 * DAY
    assert step_record(change, "day_3")["outcome"] == (
        "Its time (Fri 4 Dec 2026, 09:00 UTC) has passed: timed from now, "
        "due Wed 9 Dec 2026, 09:00 UTC."
    )


def test_an_added_step_of_a_spread_bulk_enrollment_is_timed_from_its_own_start_day():
    friday = dt.datetime(2026, 3, 6, 9, 0, tzinfo=dt.UTC)
    playbook = programme_playbook()
    AccountFactory.create_batch(2, lifecycle_status="active", timezone="UTC", country="US")
    with clock.frozen(friday):
        run = bulk_enrollment_start(
            playbook=playbook,
            filters={"lifecycle_status": ["active"]},
            spread_business_days=2,
            actor=None,
        )
        bulk_enrollment_run(bulk_enrollment_id=run.pk)
    today, monday = Enrollment.objects.order_by("pk")
    assert today.timed_from is None  # started when it was made
    assert monday.timed_from == friday + 3 * DAY  # the next business day, same time
    PlaybookStep.objects.create(
        playbook=playbook,
        position=3,
        key="day_10",
        name="Day-10 check-in",
        kind="task",
        config={"queue": "customer-success", "title": "Check in"},
        delay_days=10,
    )
    v2 = playbook_publish(playbook=playbook, actor=None)

    for enrollment in (today, monday):
        move_now(enrollment, v2, at=friday + DAY)

    assert runs(today, "day_10")[0].due_at == friday + 10 * DAY
    # Ten days from the Monday its review was spread to, not from the Friday of the run.
    assert runs(monday, "day_10")[0].due_at == friday + 13 * DAY
    assert runs(monday, "review")[0].due_at == friday + 3 * DAY


def test_an_added_step_after_one_that_ran_is_timed_from_when_that_step_ran(rep):
    playbook = playbook_v1([])
    enrollment = enroll(rep)
    run_due(T0 + dt.timedelta(hours=1))  # the kickoff ran an hour after the start
    v2 = publish(playbook, [HANDOVER])

    move_now(enrollment, v2, at=T0 + DAY)

    [handover] = runs(enrollment, "handover")
    assert handover.due_at == T0 + 2 * DAY + dt.timedelta(hours=1)


def test_an_added_step_after_one_still_to_run_is_scheduled_when_that_step_runs(rep):
    playbook = playbook_v1([])
    enrollment = enroll(rep)  # the kickoff has not run yet
    v2 = publish(playbook, [HANDOVER])

    change = move_now(enrollment, v2, at=T0)

    assert runs(enrollment, "handover") == []
    assert step_record(change, "handover")["outcome"] == "Scheduled when “Kickoff call” is done."
    run_due(T0 + dt.timedelta(minutes=5))  # the kickoff runs under v2
    assert runs(enrollment, "handover")[0].due_at == T0 + 2 * DAY + dt.timedelta(minutes=5)


def test_an_added_step_after_a_skipped_step_is_a_branch_not_taken(rep):
    big_deals_only = {
        **CHECKIN,
        "key": "exec_intro",
        "conditions": [{"field": "deal.amount", "op": ">=", "value": 10000}],
    }
    playbook = playbook_v1([big_deals_only])
    enrollment = enroll(rep)
    run_due(T0)  # the intro is skipped: the deal is 2,400
    v2 = publish(playbook, [big_deals_only, {**HANDOVER, "after_step": "exec_intro"}])

    change = move_now(enrollment, v2, at=T0 + DAY)

    assert runs(enrollment, "handover") == []
    assert (
        step_record(change, "handover")["outcome"]
        == "Not scheduled: “Check-in call” did not run (skipped)."
    )


def test_an_added_repeating_step_catches_up_with_its_latest_occurrence(rep):
    playbook = playbook_v1([])
    enrollment = enroll(rep)
    run_due(T0)
    v2 = publish(playbook, [WEEKLY])

    change = move_now(enrollment, v2, at=T0 + 16 * DAY)

    anchor, latest = runs(enrollment, "weekly")
    assert (anchor.occurrence, anchor.state, anchor.planned_at) == (1, "skipped", T0)
    assert anchor.result == {"skipped": "added by the move to v2 after its time"}
    assert (latest.occurrence, latest.state, latest.due_at) == (3, "pending", T0 + 14 * DAY)
    assert step_record(change, "weekly")["outcome"] == (
        "Occurrence 3: its time (Tue 15 Dec 2026, 09:00 UTC) has passed: runs now."
    )
    run_due(T0 + 16 * DAY)  # the 3rd runs; the 4th counts from the first's plan
    assert runs(enrollment, "weekly")[-1].due_at == T0 + 21 * DAY


def test_a_retimed_step_is_retimed_or_left_as_the_admin_chooses(rep):
    playbook = playbook_v1()
    retimed, left = enroll(rep), enroll(rep)
    run_due(T0)
    v2 = publish(playbook, [{**CHECKIN, "delay_days": 7}])

    move_now(retimed, v2, at=T0 + DAY)
    change = move_now(left, v2, at=T0 + DAY, options=LEAVE)

    assert runs(retimed, "checkin")[0].due_at == T0 + 7 * DAY
    assert runs(left, "checkin")[0].due_at == T0 + 14 * DAY
    assert step_record(change, "checkin")["outcome"] == (
        "Timing changed; left as scheduled (due Tue 15 Dec 2026, 09:00 UTC)."
    )


def test_a_repetition_the_new_version_no_longer_allows_is_cancelled(rep):
    playbook = playbook_v1([WEEKLY])
    enrollment = enroll(rep)
    run_due(T0)
    run_due(T0 + 7 * DAY)  # occurrence 2 ran; occurrence 3 is pending
    v2 = publish(playbook, [{**WEEKLY, "repeat_max": 2}])

    move_now(enrollment, v2, at=T0 + 8 * DAY)

    assert [(r.occurrence, r.state) for r in runs(enrollment, "weekly")] == [
        (1, "done"),
        (2, "done"),
        (3, "cancelled"),
    ]


def test_a_step_that_now_repeats_gets_its_next_occurrence(rep):
    playbook = playbook_v1([])
    enrollment = enroll(rep)
    run_due(T0)
    playbook.steps.filter(key="kickoff").update(repeat_every_days=30, repeat_max=3)
    v2 = publish(playbook, [])

    move_now(enrollment, v2, at=T0 + DAY)

    assert [(r.occurrence, r.state, r.due_at) for r in runs(enrollment, "kickoff")] == [
        (1, "done", T0),
        (2, "pending", T0 + 30 * DAY),
    ]


def test_a_paused_enrollment_moves_and_stays_paused(rep):
    from apps.engine.services import enrollment_pause

    playbook = playbook_v1()
    enrollment = enroll(rep)
    run_due(T0)
    enrollment_pause(enrollment=enrollment)
    v2 = publish(playbook, [CHECKIN])

    move_now(enrollment, v2, at=T0 + DAY)

    enrollment.refresh_from_db()
    assert (enrollment.version, enrollment.state) == (v2, Enrollment.State.PAUSED)


def test_the_move_run_twice_changes_nothing_the_second_time(rep, admin_user):
    playbook = playbook_v1()
    enrollments = [enroll(rep) for _ in range(3)]
    run_due(T0)
    v2 = publish(playbook, [{**CHECKIN, "delay_days": 7}, HANDOVER])
    with clock.frozen(T0 + DAY):
        move = enrollment_move_start(to_version=v2.pk, actor=admin_user)
        assert enrollment_move_run(move_id=move.pk, chunk_size=2) == "done"
    state = sorted(StepRun.objects.values_list("pk", "state", "due_at", "kind"))
    move.refresh_from_db()
    assert (move.total, move.moved, move.failed, move.unchanged) == (3, 3, 0, 0)

    with clock.frozen(T0 + 2 * DAY):
        assert enrollment_move_run(move_id=move.pk) == "done"  # the same message again
        assert move_now(enrollments[0], v2, at=T0 + 2 * DAY) is None
        with pytest.raises(ValidationFailed) as refused:
            enrollment_move_start(to_version=v2.pk, actor=admin_user)

    assert refused.value.errors == {
        "to_version": [
            "No running enrollment of “New customer onboarding” is on other versions: "
            "nothing to move to v2."
        ]
    }
    assert sorted(StepRun.objects.values_list("pk", "state", "due_at", "kind")) == state
    assert EnrollmentVersionChange.objects.count() == 3
    assert EnrollmentMove.objects.count() == 1


def test_a_failed_move_leaves_that_enrollment_on_its_old_version(rep, admin_user):
    playbook = playbook_v1()
    good, broken = enroll(rep), enroll(rep)
    run_due(T0)
    # Data no calendar can read: the move of this enrollment fails.
    type(broken.account).objects.filter(pk=broken.account_id).update(timezone="Nowhere/Atlantis")
    before = sorted(broken.step_runs.values_list("pk", "state", "due_at"))
    v2 = publish(playbook, [{**CHECKIN, "delay_days": 7}])

    with clock.frozen(T0 + DAY):
        move = enrollment_move_start(to_version=v2.pk, actor=admin_user)
        assert enrollment_move_run(move_id=move.pk) == "done"

    move.refresh_from_db()
    assert (move.moved, move.failed) == (1, 1)
    broken.refresh_from_db()
    assert broken.version.number == 1
    assert sorted(broken.step_runs.values_list("pk", "state", "due_at")) == before
    failure = EnrollmentVersionChange.objects.get(enrollment=broken)
    assert failure.outcome == "failed" and "Nowhere/Atlantis" in failure.error
    good.refresh_from_db()
    assert good.version == v2


def test_a_canary_moves_the_first_enrollments_only(rep, admin_user):
    playbook = playbook_v1()
    first, second, third = enroll(rep), enroll(rep), enroll(rep)
    v2 = publish(playbook, [CHECKIN])

    with clock.frozen(T0 + DAY):
        preview = enrollment_move_preview(request=move_request_check(to_version=v2, canary="2"))
        move = enrollment_move_start(to_version=v2.pk, canary=2, actor=admin_user)
        enrollment_move_run(move_id=move.pk, chunk_size=1)

    assert (preview.to_move, preview.running) == (2, 3)
    versions = dict(Enrollment.objects.values_list("pk", "version__number"))
    assert versions == {first.pk: 2, second.pk: 2, third.pk: 1}
    move.refresh_from_db()
    assert (move.state, move.total, move.moved) == ("done", 2, 2)


def test_only_the_chosen_version_moves_when_one_is_chosen(rep, admin_user):
    playbook = playbook_v1()
    on_v1 = enroll(rep)
    v2 = publish(playbook, [CHECKIN])
    on_v2 = enroll(rep)
    v3 = publish(playbook, [])

    with clock.frozen(T0 + DAY):
        move = enrollment_move_start(to_version=v3.pk, from_version=v2.pk, actor=admin_user)
        enrollment_move_run(move_id=move.pk)

    versions = dict(Enrollment.objects.values_list("pk", "version__number"))
    assert versions == {on_v1.pk: 1, on_v2.pk: 3}


@pytest.mark.parametrize(
    ("fields", "problems"),
    [
        (
            {"to_version": "999"},
            {
                "to_version": [
                    "There is no published version with id 999. A draft must be published "
                    "before enrollments can move to it."
                ]
            },
        ),
        ({"to_version": "v2"}, {"to_version": ["“v2” is not a version id."]}),
        (
            {"to_version": "{v1}", "from_version": "{v1}"},
            {"from_version": ["The enrollments on v1 are already on the version to move to."]},
        ),
        (
            {"to_version": "{v1}"},
            {
                "to_version": [
                    "No running enrollment of “New customer onboarding” is on other versions: "
                    "nothing to move to v1."
                ]
            },
        ),
        (
            {"to_version": "{v2}", "added_steps": "whenever", "canary": "0"},
            {
                "added_steps": ["Choose one of: from_start, from_now."],
                "canary": ["A whole number from 1 to 100000, or empty to move all."],
            },
        ),
    ],
)
def test_bad_input_is_refused_with_the_reason_and_nothing_changes(
    rep, admin_user, fields, problems
):
    playbook = playbook_v1()
    enroll(rep)
    v1 = playbook.current_version
    v2 = publish(playbook, [CHECKIN])
    ids = {"{v1}": str(v1.pk), "{v2}": str(v2.pk)}
    fields = {name: ids.get(value, value) for name, value in fields.items()}
    before = sorted(StepRun.objects.values_list("pk", "state", "due_at"))

    with pytest.raises(ValidationFailed) as refused:
        enrollment_move_start(**fields, actor=admin_user)

    assert refused.value.errors == problems
    assert not EnrollmentMove.objects.exists()
    assert Enrollment.objects.get().version == v1
    assert sorted(StepRun.objects.values_list("pk", "state", "due_at")) == before


def test_a_version_of_another_playbook_cannot_be_the_source(rep, admin_user):
    playbook = playbook_v1()
    enroll(rep)
    v2 = publish(playbook, [CHECKIN])
    from tests.factories import programme_playbook

    other = programme_playbook().current_version

    with pytest.raises(ValidationFailed) as refused:
        enrollment_move_start(to_version=v2.pk, from_version=other.pk, actor=admin_user)

    assert refused.value.errors == {
        "from_version": [
            f"v1 belongs to “{other.playbook.name}”, not to “New customer onboarding”."
        ]
    }


def test_a_kept_step_whose_kind_changed_runs_as_the_new_kind(rep):
    playbook = playbook_v1()
    enrollment = enroll(rep)
    run_due(T0)
    reminder = {
        **CHECKIN,
        "kind": "reminder",
        "delay_days": 14,
        "config": {"to": "deal_owner", "title": "Check in with {{ account.name }}", "body": ""},
    }
    v2 = publish(playbook, [reminder])

    change = move_now(enrollment, v2, at=T0 + DAY)

    [checkin] = runs(enrollment, "checkin")
    assert (checkin.kind, checkin.due_at) == ("reminder", T0 + 14 * DAY)
    assert step_record(change, "checkin")["outcome"] == (
        "Schedule unchanged: due Tue 15 Dec 2026, 09:00 UTC. Runs as a reminder step now."
    )


def test_moving_back_and_forth_schedules_a_returning_step_once(rep):
    playbook = playbook_v1([])
    enrollment = enroll(rep)
    run_due(T0)
    day_20 = {**CHECKIN, "key": "day_20", "delay_days": 20}
    v2 = publish(playbook, [day_20])
    v3 = publish(playbook, [])

    move_now(enrollment, v2, at=T0 + DAY)  # day 20 added
    move_now(enrollment, v3, at=T0 + 2 * DAY)  # and removed: its run cancelled
    change = move_now(enrollment, v2, at=T0 + 3 * DAY)  # back again

    [run] = runs(enrollment, "day_20")
    assert (run.state, run.due_at) == (StepRun.State.PENDING, T0 + 20 * DAY)
    assert step_record(change, "day_20")["outcome"] == "Scheduled for Mon 21 Dec 2026, 09:00 UTC."
    run_due(T0 + 20 * DAY)
    move_now(enrollment, v3, at=T0 + 21 * DAY)
    change = move_now(enrollment, v2, at=T0 + 22 * DAY)
    assert step_record(change, "day_20")["outcome"] == (
        "Already ran under an earlier version; not scheduled again."
    )
    assert [r.state for r in runs(enrollment, "day_20")] == [StepRun.State.DONE]
