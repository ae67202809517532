from dataclasses import asdict

from django.core.management.base import BaseCommand, CommandError

from apps.benchmarks import insights
from apps.benchmarks.commands import require_bench_database, write_report


class Command(BaseCommand):
    help = (
        "Write N deals with ten step runs each (PostgreSQL generates them), then time each "
        "insights page, a CSV download and the team dashboard: p50, p95 and max in "
        "milliseconds."
    )

    def add_arguments(self, parser):
        parser.add_argument("--deals", type=int, default=100_000)
        parser.add_argument("--repeats", type=int, default=20, help="timings per page")
        parser.add_argument("--json", action="store_true", help="print one JSON object")
        parser.add_argument("--force", action="store_true", help="run on a database with data")
        parser.add_argument("--keep", action="store_true", help="keep the rows it created")

    def handle(self, *args, **options):
        if options["deals"] < 1 or options["repeats"] < 1:
            raise CommandError("--deals and --repeats must be at least 1.")
        require_bench_database(command="insights_bench", force=options["force"])
        log = (lambda message: None) if options["json"] else self.stdout.write
        try:
            result = insights.run(deals=options["deals"], repeats=options["repeats"], log=log)
        except RuntimeError as exc:
            raise CommandError(str(exc)) from None
        finally:
            if not options["keep"]:
                insights.bench_data_delete_all()
        write_report(self.stdout, asdict(result), as_json=options["json"])
