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
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from django.db import DatabaseError, connection, models, transaction

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


_work_tables: set[str] = set()


def register_drainer(name: str, drainer: Drainer, *, tables: tuple[str, ...] = ()) -> None:
    """Add work to ``drain``, in registration order (events first: they create steps).
    ``tables`` are the tables its claims read, whose statistics ``drain`` keeps fresh."""
    if all(existing != name for existing, _ in _drainers):
        _drainers.append((name, drainer))
    _work_tables.update(tables)


# Statistics: a work table whose planner statistics describe a table a fifth its size
# (and a thousand rows or more away) is analyzed by the next drain; checked at most once
# a minute per process.
STATISTICS_CHECK_SECONDS = 60.0
STALE_SHARE, STALE_ROWS = 0.2, 1000
_statistics_checked_at: float | None = None


def work_tables_analyze_stale() -> list[str]:
    """ANALYZE the drainers' tables whose statistics have fallen behind their rows, and
    return their names (PostgreSQL; nothing elsewhere).

    Autovacuum does this where it runs in time. Where it does not (turned off, or busy
    with other databases) the claims were planned from statistics taken when a table
    was nearly empty: a sort of every due row to take the first hundred, a walk through
    every dead index entry. A table another session is analyzing is left to it."""
    if connection.vendor != "postgresql" or not _work_tables:
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT s.relname FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid"
            " WHERE s.relname = ANY(%s)"
            " AND s.n_mod_since_analyze > GREATEST(%s, %s * GREATEST(c.reltuples, 0))",
            [sorted(_work_tables), STALE_ROWS, STALE_SHARE],
        )
        stale = sorted(row[0] for row in cursor.fetchall())
    analyzed = []
    for table in stale:
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute("SET LOCAL lock_timeout = '200ms'")
                cursor.execute(f"ANALYZE {connection.ops.quote_name(table)}")
        except DatabaseError:
            logger.info("%s is being analyzed elsewhere; left to it", table)
            continue
        analyzed.append(table)
    if analyzed:
        logger.info("analyzed %s: their statistics had fallen behind", ", ".join(analyzed))
    return analyzed


def _analyze_now_and_then() -> None:
    global _statistics_checked_at
    now = time.monotonic()
    if _statistics_checked_at is not None and now - _statistics_checked_at < (
        STATISTICS_CHECK_SECONDS
    ):
        return
    _statistics_checked_at = now
    try:
        work_tables_analyze_stale()
    except DatabaseError:
        logger.warning("could not check the work tables' statistics", exc_info=True)


# A round that did this much work is a backlog: one wake-up asks another worker to help.
HELP_AFTER = 50
_draining: contextvars.ContextVar[bool] = contextvars.ContextVar("draining", default=False)
# Inside a drain: the drainers whose work was made due since each last ran.
_made_due: contextvars.ContextVar[set[str] | None] = contextvars.ContextVar(
    "made_due", default=None
)


def drain(*, rounds: int = 50) -> dict[str, int]:
    """Run the drainers round after round until nothing is due. Returns how much each
    did.

    The first round runs every drainer. A drainer stops when it finds less than a batch,
    so a later round runs only the drainers that work done in this drain made due again
    (a step's events, an event's steps: ``wake_after_commit(drainer=…)`` names them) or
    that did a backlog's worth; a round with nothing to run ends the drain without
    claiming again to find nothing. Work other transactions commit meanwhile sends its
    own wake-up. A backlog sends one wake-up, so an idle worker joins in, and so does
    running out of rounds with work left."""
    done = {name: 0 for name, _ in _drainers}
    token = _draining.set(True)
    made_due: set[str] = set()
    made_token = _made_due.set(made_due)
    helped = False
    names = {name for name, _ in _drainers}
    pending = set(names)
    try:
        for _ in range(rounds):
            if not connection.in_atomic_block:
                _analyze_now_and_then()  # a burst's drain goes on for many rounds
            progress = 0
            busy: set[str] = set()
            for name, drainer in _drainers:
                if name not in pending:
                    continue
                made_due.discard(name)  # this run takes whatever is due now
                count = drainer()
                done[name] += count
                progress += count
                if count >= HELP_AFTER:
                    busy.add(name)
            if progress >= HELP_AFTER and not helped:
                helped = True
                _wake()
            pending = (made_due | busy) & names
            if not pending:
                break
        else:
            _wake()
    finally:
        _made_due.reset(made_token)
        _draining.reset(token)
    return done


def _wake() -> None:
    from apps.core.tasks import drain as drain_task

    send_now(drain_task, what="a wake-up for the workers")


def wake_after_commit(*, drainer: str | None = None) -> None:
    """Ask a worker to drain due work once the current transaction commits. One message
    per transaction however many rows it made due; a rolled-back transaction sends
    none. Inside a drain it sends nothing: the drain's next round runs ``drainer`` (the
    one whose work this is; every drainer when not named)."""
    if _draining.get():
        made_due = _made_due.get()
        if made_due is not None:
            made_due.update([drainer] if drainer else [name for name, _ in _drainers])
        return
    if any(callback is _wake for _, callback, _ in connection.run_on_commit):
        return
    transaction.on_commit(_wake)


@contextlib.contextmanager
def commit_without_flush(*, when_asked: bool = False) -> Iterator[Callable[[], None]]:
    """A transaction whose COMMIT does not wait for the disk (PostgreSQL's
    ``synchronous_commit = off`` for it alone). Inside a caller's transaction it is a
    savepoint, and the caller's commit keeps its own durability. With ``when_asked``, the
    commit waits for the disk unless the function it yields is called (a drain asks once
    it has claimed something, so a claim that finds nothing costs no extra statement).

    For work whose loss, if the database server itself crashes within a fraction of a
    second of the commit, repeats safe work, and that nothing outside the database
    builds on before it is on disk:

    - "this email was sent" lost means the email is sent again, with the same
      Message-ID;
    - a drain's batch (the steps it executed, the events it processed, what they wrote)
      lost is taken again by the next drain, as if the worker had died before
      committing. Anything that acts on the batch's rows (an email's delivery claims
      it, a person completes a task) commits after it and waits for the disk, which
      writes the batch's commit with its own: the server's log is written in order.

    A worker dying loses nothing: the server has the commit.
    """
    ours = not connection.in_atomic_block and connection.vendor == "postgresql"
    asked = False

    def ask() -> None:
        nonlocal asked
        if ours and not asked:
            asked = True
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL synchronous_commit TO OFF")

    with transaction.atomic():
        if not when_asked:
            ask()
        yield ask
