from celery import shared_task

from apps.engine import execution, services


@shared_task(name="engine.dispatch_due")
def dispatch_due() -> int:
    """Periodic: execute what is due, batch after batch (catches lost wake-ups)."""
    return services.step_runs_dispatch_due()


@shared_task(name="engine.run_steps")
def run_steps(step_run_ids: list[int]) -> None:
    """Execute the named step runs (messages sent before batched execution)."""
    execution.step_runs_execute(ids=step_run_ids)
