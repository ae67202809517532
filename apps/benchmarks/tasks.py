from celery import shared_task


@shared_task(name="benchmarks.noop")
def noop() -> None:
    """Does nothing: engine_bench times how many of these the workers get through, the
    ceiling that Celery and the broker put on any task."""
