from django.core.management.base import BaseCommand, CommandError

from apps.benchmarks.commands import require_bench_database, write_report
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
        require_bench_database(command="queue_bench", force=options["force"])
        log = (lambda message: None) if options["json"] else self.stdout.write
        bench = QueueBench(tasks=options["tasks"], requests=options["requests"], log=log)
        bench.clean_up()  # leftovers of an interrupted run
        try:
            user = bench.fill()
            result = bench.measure(user)
        finally:
            if not options["keep"]:
                bench.clean_up()
        write_report(self.stdout, as_dict(result), as_json=options["json"])
