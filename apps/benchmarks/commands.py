"""What the benchmark commands share: the database guard and the report."""

import json
from typing import Any

from django.core.management.base import CommandError
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from apps.benchmarks.engine.data import other_data_exists


def require_bench_database(*, command: str, force: bool) -> None:
    """Refuse a database that is behind on migrations or holds real data."""
    executor = MigrationExecutor(connection)
    if executor.migration_plan(executor.loader.graph.leaf_nodes()):
        raise CommandError("The database has unapplied migrations: run manage.py migrate.")
    if other_data_exists() and not force:
        raise CommandError(
            f"This database holds real deals or active playbooks. {command} writes and "
            "deletes many rows: point DATABASE_URL at a dedicated database, or pass --force."
        )


def write_report(stdout: Any, data: dict, *, as_json: bool) -> None:
    if as_json:
        stdout.write(json.dumps(data))
        return
    for key, value in data.items():
        stdout.write(f"{key:>20}: {value}")


def add_fill_and_measure_arguments(parser: Any, *, rows: str, rows_default: int) -> None:
    """The options of a command that fills a database, times pages and cleans up."""
    parser.add_argument(f"--{rows}", type=int, default=rows_default)
    parser.add_argument("--requests", type=int, default=50, help="timed requests per page")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--force", action="store_true", help="run on a database with data")
    parser.add_argument("--keep", action="store_true", help="keep the rows it created")


def fill_and_measure(bench: Any, *, keep: bool) -> Any:
    """Clear an interrupted run's leftovers, fill, measure, and clean up unless ``keep``:
    ``bench.measure`` takes what ``bench.fill`` returned."""
    bench.clean_up()
    try:
        filled = bench.fill()
        return bench.measure(*filled) if isinstance(filled, tuple) else bench.measure(filled)
    finally:
        if not keep:
            bench.clean_up()
