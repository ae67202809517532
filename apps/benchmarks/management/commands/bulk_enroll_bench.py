from django.core.management.base import BaseCommand, CommandError

from apps.benchmarks.bulk import BulkBench, as_dict
from apps.benchmarks.commands import require_bench_database, write_report
from apps.engine.bulk import MAX_SPREAD_BUSINESS_DAYS


class Command(BaseCommand):
    help = (
        "Create N existing customers and enroll them in a playbook in bulk through the "
        "engine.bulk_enroll task on a real Celery worker; report the preview time, the run "
        "time, accounts per second and what a second run enrolls (nothing). Uses the "
        "configured database and broker."
    )

    def add_arguments(self, parser):
        parser.add_argument("--accounts", type=int, default=10_000)
        parser.add_argument(
            "--spread", type=int, default=5, help="spread the starts over N business days"
        )
        parser.add_argument("--timeout", type=float, default=600, help="seconds to wait a run")
        parser.add_argument("--json", action="store_true", help="print one JSON object")
        parser.add_argument("--force", action="store_true", help="run on a database with data")
        parser.add_argument("--keep", action="store_true", help="keep the rows it created")

    def handle(self, *args, **options):
        if options["accounts"] < 1:
            raise CommandError("--accounts must be at least 1.")
        if not 0 <= options["spread"] <= MAX_SPREAD_BUSINESS_DAYS:
            raise CommandError(f"--spread must be from 0 to {MAX_SPREAD_BUSINESS_DAYS}.")
        require_bench_database(command="bulk_enroll_bench", force=options["force"])
        log = (lambda message: None) if options["json"] else self.stdout.write
        bench = BulkBench(
            accounts=options["accounts"],
            spread=options["spread"],
            timeout=options["timeout"],
            log=log,
        )
        bench.clean_up()  # leftovers of an interrupted run
        try:
            result = bench.measure()
        finally:
            if not options["keep"]:
                bench.clean_up()
        write_report(self.stdout, as_dict(result), as_json=options["json"])
