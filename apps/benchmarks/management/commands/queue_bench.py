import json

from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from apps.benchmarks.engine import other_data_exists
from apps.benchmarks.queues import QueueBench, as_dict


class Command(BaseCommand):
    help = (
        "Fill the database with tasks and report server time (p50/p95) of the My work page, "
        "a queue page and the task API list, and their query counts."
    )

    def add_arguments(self, parser):
        parser.add_argument("--tasks", type=int, default=100_000)
        parser.add_argument("--requests", type=int, default=50, help="timed requests per page")
        parser.add_argument("--json", action="store_true", help="print one JSON object")
        parser.add_argument("--force", action="store_true", help="run on a database with data")
        parser.add_argument("--keep", action="store_true", help="keep the rows it created")

    def handle(self, *args, **options):
        if options["tasks"] < 1 or options["requests"] < 1:
            raise CommandError("--tasks and --requests must be at least 1.")
        executor = MigrationExecutor(connection)
        if executor.migration_plan(executor.loader.graph.leaf_nodes()):
            raise CommandError("The database has unapplied migrations: run manage.py migrate.")
        if other_data_exists() and not options["force"]:
            raise CommandError(
                "This database holds real deals or active playbooks. queue_bench writes and "
                "deletes many rows: point DATABASE_URL at a dedicated database, or pass --force."
            )
        log = (lambda message: None) if options["json"] else self.stdout.write
        bench = QueueBench(tasks=options["tasks"], requests=options["requests"], log=log)
        bench.clean_up()  # leftovers of an interrupted run
        try:
            user = bench.fill()
            result = bench.measure(user)
        finally:
            if not options["keep"]:
                bench.clean_up()
        data = as_dict(result)
        if options["json"]:
            self.stdout.write(json.dumps(data))
            return
        for key, value in data.items():
            self.stdout.write(f"{key:>20}: {value}")
