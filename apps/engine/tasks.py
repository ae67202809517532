from celery import shared_task

from apps.engine import services


@shared_task(name="engine.dispatch_due")
def dispatch_due() -> int:
    """Periodic: claim due step runs and send them to the workers."""
    return services.step_runs_dispatch_due()


@shared_task(name="engine.run_steps")
def run_steps(step_run_ids: list[int]) -> None:
    """Execute claimed step runs, each in its own transaction."""
    for step_run_id in step_run_ids:
        services.step_run_execute(step_run_id=step_run_id)
