from celery import shared_task

from apps.health.services import health_recompute_all


# A big customer base takes a while; each chunk of accounts commits on its own.
@shared_task(name="health.recompute_all", soft_time_limit=1800, time_limit=1860)
def recompute_all() -> int:
    """Nightly: every account's health, and today's snapshot."""
    return health_recompute_all()
