"""Writes of moving enrollments: start a run, run it chunk by chunk, move one enrollment."""

import logging
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded
from django.db import transaction
from django.db.models import F, Value
from django.db.models.functions import Coalesce

from apps.core import clock, outbox
from apps.core.errors import Conflict
from apps.engine.models import Enrollment, EnrollmentMove, EnrollmentVersionChange, StepRun
from apps.engine.moves.plan import UNFINISHED, EnrollmentPlan, MoveOptions, enrollment_plan
from apps.engine.moves.selectors import (
    RUNNING_STATES,
    MoveRequest,
    enrollments_to_move,
    move_request_check,
)
from apps.engine.timing import company_holidays_read_once
from apps.playbooks.models import PlaybookVersion

logger = logging.getLogger(__name__)

CHUNK_SIZE = 100


@transaction.atomic
def enrollment_move_start(*, actor: Any, **fields: Any) -> EnrollmentMove:
    """Record a move (queued) and send ``engine.move_enrollments`` after commit. The
    fields are those of ``move_request_check``; bad input raises ``ValidationFailed``
    and writes nothing."""
    request = move_request_check(**fields)
    running = enrollments_to_move(request).count()
    move = EnrollmentMove.objects.create(
        playbook_id=request.to_version.playbook_id,
        to_version=request.to_version,
        from_version=request.from_version,
        added_steps=request.options.added_steps,
        retimed_steps=request.options.retimed_steps,
        canary=request.canary,
        requested_by=actor if getattr(actor, "pk", None) else None,
        total=min(running, request.canary) if request.canary else running,
        created_at=clock.now(),
    )
    _send(move)
    logger.info("move %s queued: %s enrollments to %s", move.pk, move.total, move.to_version)
    return move


def _send(move: EnrollmentMove) -> None:
    from apps.engine.tasks import move_enrollments

    outbox.send_after_commit(move_enrollments, move.pk, what=f"enrollment move {move.pk}")


@transaction.atomic
def enrollment_move_resume(*, move: EnrollmentMove, actor: Any = None) -> EnrollmentMove:
    """Send a move's message again (it was lost), or continue a failed move from its
    cursor."""
    move = EnrollmentMove.objects.select_for_update().get(pk=move.pk)
    if move.state == EnrollmentMove.State.DONE:
        raise Conflict("This move is done; start a new one for what runs on other versions now.")
    if move.state == EnrollmentMove.State.FAILED:
        move.state, move.error, move.finished_at = EnrollmentMove.State.QUEUED, "", None
        move.save(update_fields=["state", "error", "finished_at"])
    _send(move)
    logger.info("move %s resumed by %s", move.pk, actor)
    return move


def enrollment_move_run(*, move_id: int, chunk_size: int = CHUNK_SIZE) -> str:
    """Move a run's enrollments, one chunk per transaction, and record how it ended.
    Returns the run's state (a duplicate message finds it done and does nothing)."""
    outbox.claim_row(
        EnrollmentMove.objects.filter(state=EnrollmentMove.State.QUEUED),
        pk=move_id,
        lease={
            "state": EnrollmentMove.State.RUNNING,
            "started_at": Coalesce(F("started_at"), Value(clock.now())),
        },
    )
    state = EnrollmentMove.objects.filter(pk=move_id).values_list("state", flat=True).first()
    if state != EnrollmentMove.State.RUNNING:
        return state or "missing"
    try:
        while _move_chunk(move_id, size=chunk_size):
            pass
    except Exception as exc:
        logger.exception("move %s failed", move_id)
        error = (
            "Stopped by the time limit; resume the move to continue."
            if isinstance(exc, SoftTimeLimitExceeded)
            else f"{type(exc).__name__}: {exc}"
        )
        EnrollmentMove.objects.filter(pk=move_id).exclude(state=EnrollmentMove.State.DONE).update(
            state=EnrollmentMove.State.FAILED, error=error[:4000], finished_at=clock.now()
        )
        return EnrollmentMove.State.FAILED
    return EnrollmentMove.State.DONE


@transaction.atomic
def _move_chunk(move_id: int, *, size: int) -> bool:
    """Move the next ``size`` enrollments after the cursor, each in its own savepoint.
    Returns True while more may follow."""
    move = (
        EnrollmentMove.objects.select_for_update(of=("self",))
        .select_related("to_version", "from_version", "requested_by")
        .get(pk=move_id)
    )
    if move.state != EnrollmentMove.State.RUNNING:
        return False
    request = MoveRequest(
        to_version=move.to_version,
        from_version=move.from_version,
        options=MoveOptions(added_steps=move.added_steps, retimed_steps=move.retimed_steps),
        canary=move.canary,
    )
    budget = size
    if move.canary:
        budget = min(size, move.canary - move.processed)
    ids = list(
        enrollments_to_move(request)
        .filter(pk__gt=move.last_enrollment_id)
        .values_list("pk", flat=True)[: max(budget, 0)]
    )
    with company_holidays_read_once():
        for enrollment_id in ids:
            _move_one(move, enrollment_id)
    if ids:
        move.last_enrollment_id = ids[-1]
    more = len(ids) == size and not (move.canary and move.processed >= move.canary)
    fields = ["moved", "failed", "unchanged", "last_enrollment_id"]
    if not more:
        move.state, move.finished_at = EnrollmentMove.State.DONE, clock.now()
        fields += ["state", "finished_at"]
    move.save(update_fields=fields)
    logger.info(
        "move %s: %s moved, %s failed, %s unchanged so far",
        move.pk,
        move.moved,
        move.failed,
        move.unchanged,
    )
    return more


def _move_one(move: EnrollmentMove, enrollment_id: int) -> None:
    """Move one enrollment in a savepoint; a failure rolls back that enrollment alone
    (it stays on its version, its runs as they were) and is recorded with the reason."""
    try:
        with transaction.atomic():
            change = enrollment_move(
                enrollment_id=enrollment_id,
                to_version=move.to_version,
                options=MoveOptions(added_steps=move.added_steps, retimed_steps=move.retimed_steps),
                actor=move.requested_by,
                move=move,
            )
    except Exception as exc:
        logger.exception("move %s: enrollment %s failed", move.pk, enrollment_id)
        from_version_id = (
            Enrollment.objects.filter(pk=enrollment_id).values_list("version_id", flat=True).get()
        )
        EnrollmentVersionChange.objects.create(
            move=move,
            enrollment_id=enrollment_id,
            from_version_id=from_version_id,
            to_version=move.to_version,
            outcome=EnrollmentVersionChange.Outcome.FAILED,
            error=f"{type(exc).__name__}: {exc}"[:4000],
            moved_by=move.requested_by,
            moved_at=clock.now(),
        )
        move.failed += 1
        return
    if change is None:
        move.unchanged += 1
    else:
        move.moved += 1


@transaction.atomic
def enrollment_move(
    *,
    enrollment_id: int,
    to_version: PlaybookVersion,
    options: MoveOptions,
    actor: Any,
    move: EnrollmentMove | None = None,
) -> EnrollmentVersionChange | None:
    """Move one running enrollment to ``to_version`` of its playbook, as its plan says,
    and record what changed. Returns None when there is nothing to do: it is on that
    version already, or finished (a second run changes nothing).

    The enrollment's row lock is the fence against a step batch: a batch that locked it
    first commits before this reads the runs (so the plan sees what the batch did and
    the successors it scheduled), and a batch that comes later skips it until this
    commits, then runs the steps of the new version. Lock order as everywhere: the
    enrollment, then its step runs.
    """
    enrollment = (
        Enrollment.objects.select_for_update(of=("self",))
        .select_related("version", "account")
        .get(pk=enrollment_id)
    )
    if enrollment.version_id == to_version.pk or enrollment.state not in RUNNING_STATES:
        return None
    if enrollment.playbook_id != to_version.playbook_id:
        raise Conflict(f"Enrollment {enrollment.pk} is not in “{to_version.playbook.name}”.")
    runs = list(StepRun.objects.select_for_update().filter(enrollment_id=enrollment.pk))
    now = clock.now()
    plan = enrollment_plan(
        enrollment=enrollment, runs=runs, to_version=to_version, options=options, now=now
    )
    from_version = enrollment.version
    _carry_out(plan, runs=runs, enrollment=enrollment, now=now)
    enrollment.version = to_version
    enrollment.generation += 1  # fences a run claimed under the old version
    enrollment.updated_at = now
    fields = ["version", "generation", "updated_at"]
    if plan.completes:
        enrollment.state, enrollment.finished_at = Enrollment.State.COMPLETED, now
        fields += ["state", "finished_at"]
    enrollment.save(update_fields=fields)
    change = EnrollmentVersionChange.objects.create(
        move=move,
        enrollment=enrollment,
        from_version=from_version,
        to_version=to_version,
        outcome=EnrollmentVersionChange.Outcome.MOVED,
        steps=plan.as_record(),
        moved_by=actor if getattr(actor, "pk", None) else None,
        moved_at=now,
    )
    logger.info("enrollment %s moved from %s to %s", enrollment.pk, from_version, to_version)
    return change


def _carry_out(plan: EnrollmentPlan, *, runs: list[StepRun], enrollment: Enrollment, now) -> None:
    by_id = {run.pk: run for run in runs}
    reason = f"Removed by the move to v{plan.to_version.number}."
    cancel = [run_id for step in plan.steps for run_id in step.cancel]
    if cancel:
        StepRun.objects.filter(pk__in=cancel, state__in=UNFINISHED).update(
            state=StepRun.State.CANCELLED, lease_until=None, finished_at=now, last_error=reason
        )
    due_now = False
    for step in plan.steps:
        for retime in step.retime:
            run = by_id[retime.run_id]
            run.due_at, run.planned_at = retime.timing.due, retime.timing.planned
            run.moved_because = retime.timing.moved_because
            run.save(update_fields=["due_at", "planned_at", "moved_because"])
            due_now |= run.due_at <= now
        if step.set_kind:
            StepRun.objects.filter(pk__in=step.set_kind).update(kind=step.kind)
    created = []
    # A run an earlier move cancelled (the step was removed, now it is back) holds the
    # step's key and occurrence: it is scheduled anew rather than inserted twice.
    cancelled_before = {
        (run.step_key, run.occurrence): run for run in runs if run.state == StepRun.State.CANCELLED
    }
    for step in plan.steps:
        for new in step.create:
            skipped = bool(new.skipped_because)
            if again := cancelled_before.get((step.key, new.occurrence)):
                again.kind, again.due_at, again.planned_at = (
                    step.kind,
                    new.timing.due,
                    new.timing.planned,
                )
                again.moved_because, again.generation = (
                    new.timing.moved_because,
                    enrollment.generation + 1,
                )
                again.state = StepRun.State.SKIPPED if skipped else StepRun.State.PENDING
                again.result = {"skipped": new.skipped_because} if skipped else {}
                again.finished_at, again.last_error, again.attempts = (
                    now if skipped else None,
                    "",
                    0,
                )
                again.lease_until = None
                again.save()
                due_now |= not skipped and new.timing.due <= now
                continue
            created.append(
                StepRun(
                    enrollment=enrollment,
                    step_key=step.key,
                    occurrence=new.occurrence,
                    kind=step.kind,
                    due_at=new.timing.due,
                    planned_at=new.timing.planned,
                    moved_because=new.timing.moved_because,
                    state=StepRun.State.SKIPPED if skipped else StepRun.State.PENDING,
                    result={"skipped": new.skipped_because} if skipped else {},
                    finished_at=now if skipped else None,
                    generation=enrollment.generation + 1,
                    created_at=now,
                )
            )
            due_now |= not skipped and new.timing.due <= now
    StepRun.objects.bulk_create(created)
    if due_now:
        outbox.wake_after_commit()
