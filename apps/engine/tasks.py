from celery import shared_task

from apps.engine import bulk, execution, moves, services


@shared_task(name="engine.dispatch_due")
def dispatch_due() -> int:
    """Periodic: execute what is due, batch after batch (catches lost wake-ups)."""
    return services.step_runs_dispatch_due()


@shared_task(name="engine.run_steps")
def run_steps(step_run_ids: list[int]) -> None:
    """Execute the named step runs (messages sent before batched execution)."""
    execution.step_runs_execute(ids=step_run_ids)


# A run of 100,000 accounts takes about a minute; the default limits are for short tasks.
@shared_task(name="engine.bulk_enroll", soft_time_limit=1800, time_limit=1860)
def bulk_enroll(bulk_enrollment_id: int) -> str:
    """Enroll the accounts of a bulk run, chunk by chunk (a repeated message continues
    from where the run stands)."""
    return bulk.bulk_enrollment_run(bulk_enrollment_id=bulk_enrollment_id)


@shared_task(name="engine.move_enrollments", soft_time_limit=1800, time_limit=1860)
def move_enrollments(move_id: int) -> str:
    """Move a run's enrollments to its version, chunk by chunk (a repeated message
    continues from where the run stands)."""
    return moves.enrollment_move_run(move_id=move_id)
