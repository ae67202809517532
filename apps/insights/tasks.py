from celery import shared_task

from apps.insights.services import funnel_counts_rebuild


@shared_task(name="insights.count_funnel")
def count_funnel() -> int:
    """Periodic: the playbook funnel's daily counts, from the step runs."""
    return funnel_counts_rebuild()
