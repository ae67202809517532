"""Figures the benchmark reports share."""

import statistics
import time
from collections.abc import Callable


def percentile(values: list[float], q: float) -> float:
    """The ``q``-th percentile of ``values`` (nearest rank), rounded to 0.1."""
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return round(ordered[index], 1)


def timed(action: Callable[[], object], repeats: int) -> dict[str, float]:
    """Run ``action`` once to warm the caches, then ``repeats`` times: the median, the
    95th percentile and the longest, in milliseconds."""
    action()
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        action()
        samples.append((time.perf_counter() - started) * 1000)
    return {
        "p50": round(statistics.median(samples), 1),
        "p95": percentile(samples, 95),
        "max": round(max(samples), 1),
    }
