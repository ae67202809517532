"""The two ceilings ``steps_per_s`` is read against, measured on the same machine, broker
and database: what Celery gets through with tasks that do nothing, and what the database
gets through claiming and completing rows in batches with nothing else to do."""

import threading
import time
import uuid

from django.db import connection, connections, transaction

from apps.benchmarks.tasks import noop

NOOP = "benchmarks.noop"


def celery_noops_send(count: int) -> None:
    for _ in range(count):
        noop.delay()


def celery_noop_per_s(stats: dict, count: int) -> float | None:
    """No-op tasks per second between the first one's start and the last one's finish
    in any worker (from the workers' own counters)."""
    ran = stats["by_name"].get(NOOP, {}).get("tasks", 0)
    if ran < count or NOOP not in stats["first_start"]:
        return None
    span = stats["last_finish"][NOOP] - stats["first_start"][NOOP]
    return round(count / max(span, 1e-6), 1)


def pg_claim_rows_per_s(*, rows: int, batch: int, claimers: int) -> float:
    """Rows per second that ``claimers`` threads (each with its own connection) take from
    a scratch table, ``batch`` at a time: one transaction selects due rows in order with
    ``FOR UPDATE SKIP LOCKED`` and marks them done, as the engine's claim does, without
    any work in between. SQLite has no row locks: one claimer, without the clause."""
    table = f"bench_claim_{uuid.uuid4().hex[:8]}"
    postgres = connection.vendor == "postgresql"
    claimers = claimers if postgres else 1
    lock = "FOR UPDATE SKIP LOCKED" if postgres else ""
    with connection.cursor() as cursor:
        if postgres:
            cursor.execute(
                f"CREATE TABLE {table} (id bigserial PRIMARY KEY, state varchar(10) NOT NULL,"
                " due_at timestamptz NOT NULL, finished_at timestamptz)"
            )
            cursor.execute(
                f"INSERT INTO {table} (state, due_at) SELECT 'pending', now() - "
                "(g || ' seconds')::interval FROM generate_series(1, %s) AS g",
                [rows],
            )
        else:
            cursor.execute(
                f"CREATE TABLE {table} (id integer PRIMARY KEY, state varchar(10) NOT NULL,"
                " due_at text NOT NULL, finished_at text)"
            )
            cursor.executemany(
                f"INSERT INTO {table} (state, due_at) VALUES ('pending', %s)",
                [(f"2000-01-01 00:00:{i % 60:02d}",) for i in range(rows)],
            )
        cursor.execute(f"CREATE INDEX {table}_due ON {table} (due_at, id) WHERE state = 'pending'")
    claim = f"SELECT id FROM {table} WHERE state = 'pending' ORDER BY due_at, id LIMIT %s {lock}"

    def claimer() -> None:
        try:
            while True:
                # This thread's own connection (Django keeps one per thread).
                with transaction.atomic(), connections["default"].cursor() as cursor:
                    cursor.execute(claim, [batch])
                    ids = [row[0] for row in cursor.fetchall()]
                    if ids:
                        marks = ", ".join(["%s"] * len(ids))
                        cursor.execute(
                            f"UPDATE {table} SET state = 'done', finished_at = CURRENT_TIMESTAMP"
                            f" WHERE id IN ({marks})",
                            ids,
                        )
                if not ids:
                    return
        finally:
            connections["default"].close()

    threads = [threading.Thread(target=claimer) for _ in range(claimers)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    took = time.perf_counter() - started
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {table} WHERE state = 'done'")
        done = cursor.fetchone()[0]
        cursor.execute(f"DROP TABLE {table}")
    return round(done / took, 1)
