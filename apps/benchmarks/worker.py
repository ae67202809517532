"""The Celery app that ``engine_bench`` runs its workers with: the project's app, plus a
count of the SQL statements each task name ran.

Every statement a worker sends through Django's cursor passes an execute wrapper that adds
it (and its time) to the running task's name. BEGIN and COMMIT are not statements Django
executes (psycopg opens the transaction, Django commits through the connection), so they
are not counted; SAVEPOINT and RELEASE are, separately. The counts go to
``$AFTERWIN_BENCH_STATS_DIR/<pid>.json`` when the worker is ready, at most twice a
second after a task, and when it shuts down.
"""

import json
import os
import time
from collections import defaultdict
from pathlib import Path

from celery import signals

from config.celery import app

__all__ = ["app"]

OUTSIDE = "(between tasks)"
SAVEPOINT_WORDS = ("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT")


class TaskStats:
    """Per task name: how many ran, their seconds, statements and time in the database."""

    def __init__(self) -> None:
        self.current = OUTSIDE
        self.by_name: dict[str, dict[str, float]] = defaultdict(
            lambda: {"tasks": 0, "seconds": 0.0, "statements": 0, "savepoints": 0, "db_s": 0.0}
        )
        self.first_start: dict[str, float] = {}
        self.last_finish: dict[str, float] = {}
        self.task_started = 0.0
        self.written = 0.0

    def execute(self, execute, sql, params, many, context):
        row = self.by_name[self.current]
        if sql.lstrip().upper().startswith(SAVEPOINT_WORDS):
            row["savepoints"] += 1
        else:
            row["statements"] += 1
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            row["db_s"] += time.perf_counter() - started

    def task_start(self, name: str) -> None:
        self.current = name
        self.task_started = time.perf_counter()
        self.first_start.setdefault(name, time.time())

    def task_finish(self, name: str) -> None:
        row = self.by_name[name]
        row["tasks"] += 1
        row["seconds"] += time.perf_counter() - self.task_started
        self.last_finish[name] = time.time()
        self.current = OUTSIDE
        if time.monotonic() - self.written > 0.5:
            self.write()

    def write(self) -> None:
        folder = os.environ.get("AFTERWIN_BENCH_STATS_DIR")
        if not folder:
            return
        self.written = time.monotonic()
        data = {
            "pid": os.getpid(),
            "by_name": self.by_name,
            "first_start": self.first_start,
            "last_finish": self.last_finish,
        }
        path = Path(folder) / f"{os.getpid()}.json"
        partial = path.with_suffix(".tmp")
        partial.write_text(json.dumps(data))
        partial.replace(path)  # the bench never reads a half-written file


stats = TaskStats()


@signals.worker_ready.connect
def _install(**kwargs) -> None:
    # --pool solo runs tasks in this thread, so its connection is the one tasks use; the
    # wrapper stays on the connection object when Celery closes and reopens it.
    from django.db import connection

    connection.execute_wrappers.append(stats.execute)
    stats.write()


@signals.task_prerun.connect
def _task_start(sender=None, **kwargs) -> None:
    stats.task_start(sender.name)


@signals.task_postrun.connect
def _task_finish(sender=None, **kwargs) -> None:
    stats.task_finish(sender.name)


@signals.worker_shutdown.connect
def _write(**kwargs) -> None:
    stats.write()
