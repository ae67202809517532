"""The outbox toolkit: what every table of "work to be done later" needs, written once.

Domain events, step runs and customer emails are all rows that a Celery message asks a
worker to act on, that a periodic sweep picks up when the message is lost, and that are
retried with exponential backoff when the work fails. The pieces:

- ``Backoff``: the delay before the next attempt;
- ``send_after_commit``: send the message once the row is committed; a broker failure is
  logged, never raised, because the row is safe and the sweep will find it;
- ``claim_row``: take one row with a conditional ``UPDATE … WHERE`` whose row count
  says who won;
- ``wake_after_commit`` and ``drain``: work that is due in the database is done by a
  ``core.drain`` task that runs every registered drainer (events, then step runs) batch
  after batch until nothing is due. A commit that makes work due sends one wake-up
  message; beat sends one every few seconds in case a message was lost.
"""

import contextlib
import contextvars
import datetime as dt
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from django.db import connection, models, transaction

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff: ``first`` after the first failure, doubling up to ``cap``."""

    first: dt.timedelta
    cap: dt.timedelta

    def after(self, attempts: int) -> dt.timedelta:
        return min(self.cap, self.first * 2 ** max(0, attempts - 1))


def send_now(task: Any, *args: Any, what: str) -> bool:
    """Send ``task`` with ``args``. Returns False (and logs) if the broker refused it."""
    try:
        task.delay(*args)
    except Exception:
        logger.warning("Could not send %s; the sweep will pick it up.", what, exc_info=True)
        return False
    return True


def send_after_commit(task: Any, *args: Any, what: str) -> None:
    """Send ``task`` once the current transaction commits (at once outside one).

    The row the message is about is committed first, so a worker never looks for a row
    that is not there yet, and a rolled-back write sends nothing.
    """
    transaction.on_commit(lambda: send_now(task, *args, what=what))


def claim_row(queryset: models.QuerySet, *, pk: int, lease: dict[str, Any]) -> bool:
    """Claim one row with a conditional UPDATE: of two workers holding the same id,
    exactly one sees a row count of 1 and goes on."""
    return bool(queryset.filter(pk=pk).update(**lease))


# Draining -------------------------------------------------------------------------------

Drainer = Callable[[], int]
_drainers: list[tuple[str, Drainer]] = []


def register_drainer(name: str, drainer: Drainer) -> None:
    """Add work to ``drain``, in registration order (events first: they create steps)."""
    if all(existing != name for existing, _ in _drainers):
        _drainers.append((name, drainer))


# A round that did this much work is a backlog: one wake-up asks another worker to help.
HELP_AFTER = 50
_draining: contextvars.ContextVar[bool] = contextvars.ContextVar("draining", default=False)


def drain(*, rounds: int = 50) -> dict[str, int]:
    """Run every drainer until a whole round finds nothing to do. Returns how much each
    did.

    Work this drain makes due (a step's events, an event's steps) sends no wake-up: the
    next round takes it. A backlog sends one, so an idle worker joins in, and so does
    running out of rounds with work left."""
    done = {name: 0 for name, _ in _drainers}
    token = _draining.set(True)
    helped = False
    try:
        for _ in range(rounds):
            progress = 0
            for name, drainer in _drainers:
                count = drainer()
                done[name] += count
                progress += count
            if not progress:
                break
            if progress >= HELP_AFTER and not helped:
                helped = True
                _wake()
        else:
            _wake()
    finally:
        _draining.reset(token)
    return done


def _wake() -> None:
    from apps.core.tasks import drain as drain_task

    send_now(drain_task, what="a wake-up for the workers")


def wake_after_commit() -> None:
    """Ask a worker to drain due work once the current transaction commits. One message
    per transaction however many rows it made due; a rolled-back transaction sends
    none. Inside a drain it sends nothing: the drain's next round takes the work."""
    if _draining.get():
        return
    if any(callback is _wake for _, callback, _ in connection.run_on_commit):
        return
    transaction.on_commit(_wake)


@contextlib.contextmanager
def commit_without_flush() -> Iterator[None]:
    """A transaction whose COMMIT does not wait for the disk (PostgreSQL's
    ``synchronous_commit = off`` for it alone).

    For a mark that may be lost only if the database server itself crashes within a
    fraction of a second, and whose loss repeats safe work: "this email was sent" lost
    means the email is sent again, with the same Message-ID. A worker dying loses
    nothing: the server has the commit.
    """
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL synchronous_commit TO OFF")
        yield
