"""The one clock the domain reads.

Services call ``clock.now()`` instead of ``timezone.now()`` so that tests and the playbook
simulation can run the same code against a virtual clock (``clock.frozen(at)``).
"""

import contextlib
import datetime as dt
import threading
from collections.abc import Iterator

from django.utils import timezone

_local = threading.local()


def now() -> dt.datetime:
    virtual = getattr(_local, "virtual_now", None)
    return virtual if virtual is not None else timezone.now()


@contextlib.contextmanager
def frozen(at: dt.datetime) -> Iterator["VirtualClock"]:
    """Run the block with ``now()`` fixed at ``at`` (movable with ``advance``/``set``)."""
    if timezone.is_naive(at):
        raise ValueError("frozen() needs an aware datetime")
    previous = getattr(_local, "virtual_now", None)
    _local.virtual_now = at
    try:
        yield VirtualClock()
    finally:
        _local.virtual_now = previous


class VirtualClock:
    def set(self, at: dt.datetime) -> None:
        _local.virtual_now = at

    def advance(self, delta: dt.timedelta) -> dt.datetime:
        _local.virtual_now = _local.virtual_now + delta
        return _local.virtual_now
