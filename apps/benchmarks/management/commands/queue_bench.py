from django.core.management.base import BaseCommand, CommandError

from apps.benchmarks.commands import (
    add_fill_and_measure_arguments,
    fill_and_measure,
    require_bench_database,
    write_report,
)
from apps.benchmarks.queues import QueueBench, as_dict


class Command(BaseCommand):
    help = (
        "Fill the database with tasks and report server time (p50/p95) of the My work page, "
        "a queue page and the task API list, and their query counts."
    )

    def add_arguments(self, parser):
        add_fill_and_measure_arguments(parser, rows="tasks", rows_default=100_000)

    def handle(self, *args, **options):
        if options["tasks"] < 1 or options["requests"] < 1:
            raise CommandError("--tasks and --requests must be at least 1.")
        require_bench_database(command="queue_bench", force=options["force"])
        log = (lambda message: None) if options["json"] else self.stdout.write
        bench = QueueBench(tasks=options["tasks"], requests=options["requests"], log=log)
        result = fill_and_measure(bench, keep=options["keep"])
        write_report(self.stdout, as_dict(result), as_json=options["json"])
