from celery import shared_task

from apps.queues import services


@shared_task(name="queues.check_slas")
def check_slas() -> int:
    """Periodic: mark newly breached task SLAs (each once) and announce them."""
    return services.tasks_check_slas()
