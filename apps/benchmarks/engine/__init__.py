"""``engine_bench``: close deals won with real Celery workers and measure the engine.

``bench`` runs the modes and collects the figures, ``data`` creates and deletes what a run
needs, ``workers`` starts and stops the Celery workers, ``ceilings`` measures what Celery
and the database can do with no engine in between.
"""

from apps.benchmarks.engine.bench import Bench, BenchOptions, as_dict
from apps.benchmarks.engine.data import KINDS, PlaybookShape, bench_data_delete, other_data_exists

__all__ = [
    "KINDS",
    "Bench",
    "BenchOptions",
    "PlaybookShape",
    "as_dict",
    "bench_data_delete",
    "other_data_exists",
]
